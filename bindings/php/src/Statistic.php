<?php

declare(strict_types=1);

namespace Pirsch\Native;

/**
 * Which statistic Client::statistics() and Client::statisticsPath() ask for: the
 * PIRSCH_STATISTIC_* values of pirsch.h (a test checks they are equal).
 */
final class Statistic
{
    public const VISITORS = 0;
    public const TOTAL = 1;
    public const PAGES = 2;
    public const ENTRY_PAGES = 3;
    public const EXIT_PAGES = 4;
    public const SESSION_DURATION = 5;
    public const TIME_ON_PAGE = 6;
    public const UTM_SOURCE = 7;
    public const UTM_MEDIUM = 8;
    public const UTM_CAMPAIGN = 9;
    public const UTM_CONTENT = 10;
    public const UTM_TERM = 11;
    public const CONVERSION_GOALS = 12;
    public const EVENTS = 13;
    public const EVENT_METADATA = 14;
    public const LIST_EVENTS = 15;
    public const EVENT_PAGES = 16;
    public const FUNNEL = 17;
    public const GROWTH = 18;
    public const ACTIVE_VISITORS = 19;
    public const TIME_OF_DAY = 20;
    public const LANGUAGES = 21;
    public const REFERRER = 22;
    public const KEYWORDS = 23;
    public const OS = 24;
    public const OS_VERSIONS = 25;
    public const BROWSER = 26;
    public const BROWSER_VERSIONS = 27;
    public const PLATFORM = 28;
    public const SCREEN = 29;
    public const COUNTRY = 30;
    public const REGION = 31;
    public const CITY = 32;
    public const TAG_KEYS = 33;
    public const TAGS = 34;

    private function __construct()
    {
    }
}

<?php

declare(strict_types=1);

namespace Pirsch\Native\Tests;

use Pirsch\Native\Client;
use Pirsch\Native\Exception\HttpException;
use Pirsch\Native\Exception\InvalidArgumentException;
use Pirsch\Native\Exception\PirschException;
use Pirsch\Native\Filter;
use Pirsch\Native\Library;
use Pirsch\Native\Statistic;
use Pirsch\Native\Statistics;

final class StatisticsTest extends TestCase
{
    private const DOMAIN = 'standin-domain-1';

    private static function today(): string
    {
        return gmdate('Y-m-d');
    }

    private static function filter(array $extra = []): Filter
    {
        return new Filter(...['id' => self::DOMAIN, 'from' => self::today(), 'to' => self::today()] + $extra);
    }

    /** RFC 3986 percent-encoding: unreserved characters kept, the rest %XX (space %20). */
    private static function q(string $value): string
    {
        return rawurlencode($value);
    }

    public function testStatisticConstantsAndFilterFieldsMatchTheHeader(): void
    {
        $ffi = Library::ffi();
        $constants = (new \ReflectionClass(Statistic::class))->getConstants();
        $this->assertCount($ffi->PIRSCH_STATISTIC_COUNT, $constants);
        foreach ($constants as $name => $value) {
            $this->assertSame($ffi->{"PIRSCH_STATISTIC_$name"}, $value, $name);
        }
        // Filter has a property for every field of pirsch_filter but struct_size and the lengths.
        $fields = array_values(array_filter($ffi->type('pirsch_filter')->getStructFieldNames(),
            static fn (string $n): bool => $n !== 'struct_size' && !str_ends_with($n, '_len')));
        $props = array_map(static fn (\ReflectionProperty $p): string => $p->getName() === 'id' ? 'domain_id' : $p->getName(),
            (new \ReflectionClass(Filter::class))->getProperties());
        $this->assertSame($fields, $props);
    }

    public function testTheFilterIsEncodedAsStatisticsPathSays(): void
    {
        $f = new Filter(
            id: 'dom/1 ä',
            from: new \DateTimeImmutable('2026-11-01 23:30', new \DateTimeZone('Europe/Berlin')),
            to: '2026-11-30',
            tz: 'Europe/Berlin',
            scale: Filter::SCALE_WEEK,
            start: 600,
            path: ['/a b', '/c&d=e'],
            pattern: '^/blog/.*$',
            entry_path: ['/in'],
            exit_path: ['/out'],
            event: ['sign up'],
            event_meta_key: ['plan'],
            language: ['de', 'en'],
            country: ['de'],
            region: ['Bayern'],
            city: ['München'],
            referrer: ['https://news.example/?q=1#x'],
            referrer_name: ['Hacker News'],
            os: ['Linux'],
            browser: ['Firefox'],
            screen_class: ['XL'],
            utm_source: ['news letter'],
            utm_medium: ['email'],
            utm_campaign: ['black+friday'],
            utm_content: ['a/b'],
            utm_term: ['100%'],
            tag: ['author'],
            platform: 'desktop',
            event_meta: ['plan' => 'pro & more', 'ü' => 'ß'],
            tags: ['author' => 'alice bob', 'k=v' => 'x?y'],
            custom_metric_key: 'price',
            custom_metric_type: Filter::CUSTOM_METRIC_TYPE_FLOAT,
            include_avg_time_on_page: true,
            offset: 20,
            limit: 10,
            sort: 'visitors',
            direction: 'desc',
            search: '50% off',
            funnel_id: 'funnel #1',
        );
        $params = [['id', $f->id], ['from', '2026-11-01'], ['to', '2026-11-30'], ['tz', 'Europe/Berlin'], ['scale', 'week'],
            ['start', '600']];
        foreach (['path', 'pattern', 'entry_path', 'exit_path', 'event', 'event_meta_key', 'language', 'country', 'region',
            'city', 'referrer', 'referrer_name', 'os', 'browser', 'screen_class', 'utm_source', 'utm_medium', 'utm_campaign',
            'utm_content', 'utm_term', 'tag'] as $list) {
            foreach ((array) $f->$list as $v) {
                $params[] = [$list, $v];
            }
        }
        $params[] = ['platform', 'desktop'];
        foreach ($f->event_meta as $k => $v) {
            $params[] = ["meta_$k", $v];
        }
        foreach ($f->tags as $k => $v) {
            $params[] = ["tag_$k", $v];
        }
        array_push($params, ['custom_metric_key', 'price'], ['custom_metric_type', 'float'], ['include_avg_time_on_page', 'true'],
            ['offset', '20'], ['limit', '10'], ['sort', 'visitors'], ['direction', 'desc'], ['search', '50% off'], ['funnel_id', 'funnel #1']);
        $query = implode('&', array_map(static fn (array $p): string => self::q($p[0]) . '=' . self::q($p[1]), $params));
        $path = Client::statisticsPath(Statistic::FUNNEL, $f);
        $this->assertSame("/api/v1/statistics/funnel?$query", $path);
        $this->assertStringContainsString('path=%2Fa%20b&path=%2Fc%26d%3De', $path);
        $this->assertStringContainsString('tag_k%3Dv=x%3Fy', $path);

        // Only what is set is sent.
        $small = new Filter(id: 'd', from: '2026-01-02', to: new \DateTime('2026-01-03'), tags: ['a' => '1']);
        $this->assertSame('/api/v1/statistics/visitor?id=d&from=2026-01-02&to=2026-01-03&tag_a=1', Client::statisticsPath(Statistic::VISITORS, $small));
        $this->assertSame('/api/v1/statistics/active?id=d&start=300', Client::statisticsPath(Statistic::ACTIVE_VISITORS, new Filter(id: 'd', start: 300)));
    }

    /** @dataProvider badFilters */
    public function testABadFilterIsRefusedWithTheLibrarysReason(int $which, array $fields, string $message): void
    {
        try {
            Client::statisticsPath($which, new Filter(...$fields));
            $this->fail('no exception');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString($message, $e->getMessage());
            $this->assertSame(Library::ffi()->PIRSCH_ERR_INVALID_ARGUMENT, $e->getCode());
        }
    }

    public static function badFilters(): array
    {
        $day = ['id' => 'd', 'from' => '2026-01-02', 'to' => '2026-01-02'];
        return [
            'no dates' => [Statistic::PAGES, ['id' => 'd'], 'from'],
            'to before from' => [Statistic::PAGES, ['to' => '2026-01-01'] + $day, 'to'],
            'scale' => [Statistic::VISITORS, $day + ['scale' => 'hour'], 'scale'],
            'event pages without event' => [Statistic::EVENT_PAGES, $day, 'event'],
            'funnel without id' => [Statistic::FUNNEL, $day, 'funnel_id'],
            'unknown statistic' => [35, $day, '35'],
            'NUL' => [Statistic::PAGES, $day + ['path' => ["a\0b"]], 'NUL'],
            'negative limit' => [Statistic::PAGES, $day + ['limit' => -1], 'limit'],
            'list of non-strings' => [Statistic::PAGES, $day + ['path' => [['x']]], 'path'],
        ];
    }

    private function sendThreePageViews(): void
    {
        // Figures are by UTC day: when midnight is under 30 s away, wait for it, so that the
        // page views and the question about "today" happen on the same day.
        $left = 86400 - time() % 86400;
        if ($left < 30) {
            sleep($left + 1);
        }
        $key = $this->client(accessKey: true);
        $key->hit(['url' => 'https://example.com/a', 'ip' => '198.51.100.1', 'user_agent' => 'Mozilla/5.0 one']);
        $key->hit(['url' => 'https://example.com/a', 'ip' => '198.51.100.2', 'user_agent' => 'Mozilla/5.0 two']);
        $key->hit(['url' => 'https://example.com/b', 'ip' => '198.51.100.1', 'user_agent' => 'Mozilla/5.0 one']);
    }

    public function testFiguresFromTheStandin(): void
    {
        $this->sendThreePageViews();
        $client = $this->client();   // OAuth: reads

        $domains = $client->domains();
        $this->assertCount(1, $domains);
        $this->assertInstanceOf(Statistics\Domain::class, $domains[0]);
        $this->assertSame([self::DOMAIN, 'example.com'], [$domains[0]->id, $domains[0]->hostname]);
        $this->assertEquals(new \DateTimeImmutable('2026-01-01T00:00:00Z'), $domains[0]->def_time);
        $this->assertEquals($domains[0], $client->domain());

        $f = new Filter(id: $client->domain()->id, from: self::today(), to: new \DateTimeImmutable('now', new \DateTimeZone('UTC')));
        $total = $client->totalVisitors($f);
        $this->assertInstanceOf(Statistics\TotalVisitorStats::class, $total);
        $this->assertSame([2, 3], [$total->visitors, $total->views]);

        $days = $client->visitors($f);
        $this->assertCount(1, $days);
        $this->assertInstanceOf(Statistics\VisitorStats::class, $days[0]);
        $this->assertSame([2, 3], [$days[0]->visitors, $days[0]->views]);
        $this->assertSame(self::today(), $days[0]->day?->format('Y-m-d'));

        $pages = [];
        foreach ($client->pages($f) as $page) {
            $this->assertInstanceOf(Statistics\PageStats::class, $page);
            $pages[$page->path] = $page;
        }
        $this->assertSame([2, 2], [$pages['/a']->views, $pages['/a']->visitors]);
        $this->assertSame(1, $pages['/b']->views);

        // The generic call: the decoded JSON of the same answers.
        $this->assertSame(3, $client->statistics(Statistic::TOTAL, $f)['views']);
        $this->assertSame(['/a' => 2, '/b' => 1], array_column($client->statistics(Statistic::PAGES, $f), 'views', 'path'));

        // Results are read-only.
        try {
            $total->views = 0;   // @phpstan-ignore-line
            $this->fail('a result property was written');
        } catch (\Error $e) {
            $this->assertStringContainsString('readonly', $e->getMessage());
        }

        // Access keys only write.
        try {
            $this->client(accessKey: true)->totalVisitors($f);
            $this->fail('an access key read statistics');
        } catch (HttpException $e) {
            $this->assertStringContainsString('403', $e->getMessage());
        }
    }

    /** Each typed method but the three above: [statistic, extra filter fields, result class, a list?]. */
    private const OTHERS = [
        'entryPages' => [Statistic::ENTRY_PAGES, [], Statistics\EntryStats::class, true],
        'exitPages' => [Statistic::EXIT_PAGES, [], Statistics\ExitStats::class, true],
        'sessionDuration' => [Statistic::SESSION_DURATION, [], Statistics\TimeSpentStats::class, true],
        'timeOnPage' => [Statistic::TIME_ON_PAGE, [], Statistics\TimeSpentStats::class, true],
        'utmSource' => [Statistic::UTM_SOURCE, [], Statistics\UTMSourceStats::class, true],
        'utmMedium' => [Statistic::UTM_MEDIUM, [], Statistics\UTMMediumStats::class, true],
        'utmCampaign' => [Statistic::UTM_CAMPAIGN, [], Statistics\UTMCampaignStats::class, true],
        'utmContent' => [Statistic::UTM_CONTENT, [], Statistics\UTMContentStats::class, true],
        'utmTerm' => [Statistic::UTM_TERM, [], Statistics\UTMTermStats::class, true],
        'conversionGoals' => [Statistic::CONVERSION_GOALS, [], Statistics\ConversionGoal::class, true],
        'events' => [Statistic::EVENTS, [], Statistics\EventStats::class, true],
        'eventMetadata' => [Statistic::EVENT_METADATA, ['event' => ['signup'], 'event_meta_key' => ['plan']], Statistics\EventStats::class, true],
        'listEvents' => [Statistic::LIST_EVENTS, [], Statistics\EventListStats::class, true],
        'eventPages' => [Statistic::EVENT_PAGES, ['event' => 'signup'], Statistics\PageStats::class, true],
        'funnel' => [Statistic::FUNNEL, ['funnel_id' => 'f1'], Statistics\FunnelData::class, false],
        'growth' => [Statistic::GROWTH, [], Statistics\Growth::class, false],
        'activeVisitors' => [Statistic::ACTIVE_VISITORS, ['start' => 600], Statistics\ActiveVisitorsData::class, false],
        'timeOfDay' => [Statistic::TIME_OF_DAY, [], Statistics\VisitorHourStats::class, true],
        'languages' => [Statistic::LANGUAGES, [], Statistics\LanguageStats::class, true],
        'referrer' => [Statistic::REFERRER, [], Statistics\ReferrerStats::class, true],
        'keywords' => [Statistic::KEYWORDS, [], Statistics\Keyword::class, true],
        'os' => [Statistic::OS, [], Statistics\OSStats::class, true],
        'osVersions' => [Statistic::OS_VERSIONS, [], Statistics\OSVersionStats::class, true],
        'browser' => [Statistic::BROWSER, [], Statistics\BrowserStats::class, true],
        'browserVersions' => [Statistic::BROWSER_VERSIONS, [], Statistics\BrowserVersionStats::class, true],
        'platform' => [Statistic::PLATFORM, [], Statistics\PlatformStats::class, false],
        'screen' => [Statistic::SCREEN, [], Statistics\ScreenClassStats::class, true],
        'country' => [Statistic::COUNTRY, [], Statistics\CountryStats::class, true],
        'region' => [Statistic::REGION, [], Statistics\RegionStats::class, true],
        'city' => [Statistic::CITY, [], Statistics\CityStats::class, true],
        'tagKeys' => [Statistic::TAG_KEYS, [], Statistics\TagStats::class, true],
        'tags' => [Statistic::TAGS, ['tag' => ['author']], Statistics\TagStats::class, true],
    ];

    public function testEveryStatisticHasAMethod(): void
    {
        $covered = array_merge(array_column(self::OTHERS, 0), [Statistic::VISITORS, Statistic::TOTAL, Statistic::PAGES]);
        sort($covered);
        $this->assertSame(array_values((new \ReflectionClass(Statistic::class))->getConstants()), $covered);
    }

    private function assertResult(mixed $result, string $class, bool $isList, string $method): void
    {
        if ($isList) {
            $this->assertIsArray($result, $method);
            $this->assertTrue(array_is_list($result), $method);
            foreach ($result as $row) {
                $this->assertInstanceOf($class, $row, $method);
            }
        } else {
            $this->assertInstanceOf($class, $result, $method);
        }
    }

    /**
     * Each method against the stand-in's own answer. The stand-in learns these endpoints one by
     * one: one it does not serve yet (404) is reported on stderr, not failed; the canned answers
     * of the next test check every method's parsing regardless.
     */
    public function testEveryOtherStatisticFromTheStandin(): void
    {
        $this->sendThreePageViews();
        $client = $this->client();
        $missing = [];
        foreach (self::OTHERS as $method => [, $extra, $class, $isList]) {
            try {
                $result = $client->$method(self::filter($extra));
            } catch (HttpException $e) {
                $this->assertStringContainsString('404', $e->getMessage(), $method);
                $missing[] = $method;
                continue;
            }
            $this->assertResult($result, $class, $isList, $method);
        }
        if ($missing !== []) {
            fwrite(STDERR, "\n[note] the stand-in does not serve yet (" . count($missing) . ' of ' . count(self::OTHERS) . '): '
                . implode(', ', $missing) . "\n");
        }
    }

    /** Answers in the API's shape, each with a field the package does not know and some left out. */
    private static function canned(): array
    {
        $row = ['visitors' => 7, 'relative_visitors' => 0.5, 'future_field' => ['x' => 1]];
        $funnel = ['id' => 'f1', 'domain_id' => 'd', 'name' => 'Buy',
            'steps' => [['id' => 's1', 'funnel_id' => 'f1', 'name' => 'Visit', 'step' => 1, 'filter' => ['path' => ['/']]]]];
        return [
            'entryPages' => [['path' => '/in', 'title' => 'In', 'visitors' => 3, 'sessions' => 4, 'entries' => 5, 'entry_rate' => 0.25,
                'average_time_spent_seconds' => 61, 'new' => 1]],
            'exitPages' => [['path' => '/out', 'exits' => 2, 'exit_rate' => 0.5]],
            'sessionDuration' => [['day' => '2026-11-30T00:00:00Z', 'average_time_spent_seconds' => 42]],
            'timeOnPage' => [['day' => '2026-11-30', 'path' => '/a', 'title' => 'A', 'average_time_spent_seconds' => 9]],
            'utmSource' => [$row + ['utm_source' => 'news']],
            'utmMedium' => [$row + ['utm_medium' => 'email']],
            'utmCampaign' => [$row + ['utm_campaign' => 'bf']],
            'utmContent' => [$row + ['utm_content' => 'c']],
            'utmTerm' => [$row + ['utm_term' => 't']],
            'conversionGoals' => [['id' => 'g1', 'def_time' => '2026-11-01T10:00:00.5+02:00',
                'page_goal' => ['domain_id' => 'd', 'name' => 'Goal', 'path_pattern' => '/thanks', 'visitor_goal' => null, 'cr_goal' => 0.1,
                    'email_reached' => true],
                'stats' => ['visitors' => 3, 'views' => 4, 'cr' => 0.75]]],
            'events' => [['name' => 'signup', 'visitors' => 2, 'count' => 3, 'cr' => 0.5, 'meta_keys' => ['plan', 'price']]],
            'eventMetadata' => [['name' => 'signup', 'count' => 3, 'meta_value' => 'pro']],
            'listEvents' => [['name' => 'signup', 'meta' => ['plan' => 'pro'], 'visitors' => 1, 'count' => 2]],
            'eventPages' => [['path' => '/pricing', 'visitors' => 2, 'views' => 5]],
            'funnel' => ['definition' => $funnel,
                'data' => [['step' => 1, 'visitors' => 10, 'relative_visitors' => 1, 'dropped' => 4, 'drop_off' => 0.4]]],
            'growth' => ['visitors_growth' => 0.5, 'views_growth' => -0.25, 'cr_growth' => 0, 'other_growth' => 9],
            'activeVisitors' => ['stats' => [['path' => '/', 'title' => 'Home', 'visitors' => 2]], 'visitors' => 2],
            'timeOfDay' => [['hour' => 13, 'visitors' => 4, 'views' => 6, 'bounce_rate' => 0.5]],
            'languages' => [$row + ['language' => 'de']],
            'referrer' => [['referrer' => 'https://news.example/', 'referrer_name' => 'News', 'visitors' => 3, 'bounces' => 1]],
            'keywords' => [['keys' => ['pirsch', 'analytics'], 'clicks' => 5, 'impressions' => 50, 'ctr' => 0.1, 'position' => 2.5]],
            'os' => [$row + ['os' => 'Linux']],
            'osVersions' => [$row + ['os' => 'Linux', 'os_version' => '6']],
            'browser' => [$row + ['browser' => 'Firefox']],
            'browserVersions' => [$row + ['browser' => 'Firefox', 'browser_version' => '133']],
            'platform' => ['platform_desktop' => 3, 'platform_mobile' => 1, 'relative_platform_desktop' => 0.75],
            'screen' => [$row + ['screen_class' => 'XL']],
            'country' => [$row + ['country_code' => 'de']],
            'region' => [$row + ['country_code' => 'de', 'region' => 'Bayern']],
            'city' => [$row + ['country_code' => 'de', 'region' => 'Bayern', 'city' => 'München']],
            'tagKeys' => [['key' => 'author', 'visitors' => 2, 'views' => 3, 'relative_views' => 0.5]],
            'tags' => [['key' => 'author', 'value' => 'alice', 'visitors' => 1]],
            'listFunnel' => [$funnel],
        ];
    }

    public function testEveryStatisticParsesTheApiAnswer(): void
    {
        $client = $this->client(['max_retries' => 0]);
        $canned = self::canned();
        $r = [];
        foreach (self::OTHERS as $method => [$which, $extra, $class, $isList]) {
            $f = self::filter($extra);
            $endpoint = explode('?', Client::statisticsPath($which, $f))[0];
            self::$standin->fault(['path_prefix' => $endpoint, 'status' => 200, 'count' => 1, 'body' => $canned[$method]]);
            $r[$method] = $client->$method($f);
            $this->assertResult($r[$method], $class, $isList, $method);
        }

        $this->assertEquals([new Statistics\EntryStats(path: '/in', title: 'In', visitors: 3, sessions: 4, entries: 5, entry_rate: 0.25,
            average_time_spent_seconds: 61)], $r['entryPages']);
        $this->assertEquals(new Statistics\ExitStats(path: '/out', exits: 2, exit_rate: 0.5), $r['exitPages'][0]);
        $this->assertEquals(new \DateTimeImmutable('2026-11-30T00:00:00Z'), $r['sessionDuration'][0]->day);
        $this->assertNull($r['sessionDuration'][0]->week);
        $this->assertSame(42, $r['sessionDuration'][0]->average_time_spent_seconds);
        $this->assertEquals(new \DateTimeImmutable('2026-11-30T00:00:00Z'), $r['timeOnPage'][0]->day);
        foreach (['utmSource' => ['utm_source', 'news'], 'utmMedium' => ['utm_medium', 'email'], 'utmCampaign' => ['utm_campaign', 'bf'],
            'utmContent' => ['utm_content', 'c'], 'utmTerm' => ['utm_term', 't']] as $method => [$prop, $value]) {
            $this->assertSame([7, 0.5, $value], [$r[$method][0]->visitors, $r[$method][0]->relative_visitors, $r[$method][0]->$prop]);
        }
        $goal = $r['conversionGoals'][0];
        $this->assertSame('g1', $goal->id);
        $this->assertSame('2026-11-01T08:00:00.500000+00:00', $goal->def_time?->setTimezone(new \DateTimeZone('UTC'))->format('Y-m-d\TH:i:s.uP'));
        $this->assertEquals(new Statistics\PageGoal(domain_id: 'd', name: 'Goal', path_pattern: '/thanks', cr_goal: 0.1, email_reached: true), $goal->page_goal);
        $this->assertNull($goal->page_goal->visitor_goal);
        $this->assertEquals(new Statistics\PageConversionsStats(visitors: 3, views: 4, cr: 0.75), $goal->stats);
        $this->assertSame(['plan', 'price'], $r['events'][0]->meta_keys);
        $this->assertSame(0, $r['events'][0]->views);
        $this->assertSame('pro', $r['eventMetadata'][0]->meta_value);
        $this->assertSame(['plan' => 'pro'], $r['listEvents'][0]->meta);
        $this->assertEquals([new Statistics\PageStats(path: '/pricing', visitors: 2, views: 5)], $r['eventPages']);
        $funnel = $r['funnel'];
        $this->assertSame('Buy', $funnel->definition?->name);
        $this->assertInstanceOf(Statistics\FunnelStep::class, $funnel->definition->steps[0]);
        $this->assertSame(['path' => ['/']], $funnel->definition->steps[0]->filter);
        $this->assertEquals([new Statistics\FunnelStepData(step: 1, visitors: 10, relative_visitors: 1.0, dropped: 4, drop_off: 0.4)], $funnel->data);
        $this->assertEquals(new Statistics\Growth(visitors_growth: 0.5, views_growth: -0.25), $r['growth']);
        $this->assertEquals(new Statistics\ActiveVisitorsData(stats: [new Statistics\ActiveVisitorStats(path: '/', title: 'Home', visitors: 2)], visitors: 2),
            $r['activeVisitors']);
        $this->assertEquals(new Statistics\VisitorHourStats(hour: 13, visitors: 4, views: 6, bounce_rate: 0.5), $r['timeOfDay'][0]);
        $this->assertSame('de', $r['languages'][0]->language);
        $this->assertEquals(new Statistics\ReferrerStats(referrer: 'https://news.example/', referrer_name: 'News', visitors: 3, bounces: 1), $r['referrer'][0]);
        $this->assertEquals(new Statistics\Keyword(keys: ['pirsch', 'analytics'], clicks: 5, impressions: 50, ctr: 0.1, position: 2.5), $r['keywords'][0]);
        $this->assertSame('6', $r['osVersions'][0]->os_version);
        $this->assertSame('133', $r['browserVersions'][0]->browser_version);
        $this->assertEquals(new Statistics\PlatformStats(platform_desktop: 3, platform_mobile: 1, relative_platform_desktop: 0.75), $r['platform']);
        $this->assertSame('XL', $r['screen'][0]->screen_class);
        $this->assertSame('de', $r['country'][0]->country_code);
        $this->assertEquals(new Statistics\CityStats(visitors: 7, relative_visitors: 0.5, country_code: 'de', region: 'Bayern', city: 'München'), $r['city'][0]);
        $this->assertSame(0.5, $r['tagKeys'][0]->relative_views);
        $this->assertEquals([new Statistics\TagStats(key: 'author', value: 'alice', visitors: 1)], $r['tags']);

        // The funnel list (GET /api/v1/funnel?id=...), by id or by a filter's domain.
        self::$standin->fault(['path_prefix' => '/api/v1/funnel', 'status' => 200, 'count' => 2, 'body' => $canned['listFunnel']]);
        $this->assertSame(['Buy'], array_map(static fn ($f) => $f->name, $client->listFunnel(self::DOMAIN)));
        $list = $client->listFunnel(self::filter());
        $this->assertInstanceOf(Statistics\Funnel::class, $list[0]);
        // funnel_id as an argument, as the Go SDK's Funnel(id, filter).
        self::$standin->fault(['path_prefix' => '/api/v1/statistics/funnel', 'status' => 200, 'count' => 1, 'body' => $canned['funnel']]);
        $this->assertSame(10, $client->funnel(self::filter(), 'f1')->data[0]->visitors);

        // Wrong types and nulls: defaults, never an exception.
        self::$standin->fault(['path_prefix' => '/api/v1/statistics/total', 'status' => 200, 'count' => 1,
            'body' => ['visitors' => 'many', 'views' => null, 'bounce_rate' => 1, 'cr' => true]]);
        $this->assertEquals(new Statistics\TotalVisitorStats(bounce_rate: 1.0), $client->totalVisitors(self::filter()));
        $this->assertSame(['visitors' => 0, 'views' => 0, 'sessions' => 0, 'bounces' => 0, 'bounce_rate' => 0.0, 'cr' => 0.0,
            'custom_metric_avg' => 0.0, 'custom_metric_total' => 0.0], (new Statistics\TotalVisitorStats())->toArray());
    }

    public function testDomainNeedsExactlyOne(): void
    {
        $client = $this->client();
        $two = $client->request('/api/v1/domain');
        $two[] = ['id' => 'second'] + $two[0];
        self::$standin->fault(['path_prefix' => '/api/v1/domain', 'status' => 200, 'count' => 2, 'body' => $two]);
        $this->assertSame([self::DOMAIN, 'second'], array_map(static fn ($d) => $d->id, $client->domains()));
        $this->expectException(PirschException::class);
        $this->expectExceptionMessage('2 domains');
        $client->domain();
    }
}

//! The statistics endpoints: what is recorded of each page view and event
//! (record, ua), which of it counts (filter, session), and the figures
//! (endpoints, table).

pub mod endpoints;
pub mod filter;
pub mod record;
pub mod session;
pub mod table;
pub mod ua;

pub use record::{facts, Store};

use crate::items::Errors;

/// One statistics endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Visitor,
    Total,
    Page,
    Entry,
    Exit,
    SessionDuration,
    TimeOnPage,
    /// utm/source, medium, campaign, content, term (index into record::UTM).
    Utm(usize),
    Goals,
    Events,
    EventMeta,
    EventList,
    EventPage,
    Funnel,
    Growth,
    Active,
    Hours,
    Language,
    Referrer,
    Keywords,
    Os,
    OsVersion,
    Browser,
    BrowserVersion,
    Platform,
    Screen,
    Country,
    Region,
    City,
    Tags,
    TagDetails,
    /// GET /api/v1/funnel?id= (the funnel definitions).
    FunnelList,
}

/// The paths under /api/v1/statistics/.
pub const STATISTICS: &[(&str, Endpoint)] = &[
    ("visitor", Endpoint::Visitor),
    ("total", Endpoint::Total),
    ("page", Endpoint::Page),
    ("page/entry", Endpoint::Entry),
    ("page/exit", Endpoint::Exit),
    ("duration/session", Endpoint::SessionDuration),
    ("duration/page", Endpoint::TimeOnPage),
    ("utm/source", Endpoint::Utm(0)),
    ("utm/medium", Endpoint::Utm(1)),
    ("utm/campaign", Endpoint::Utm(2)),
    ("utm/content", Endpoint::Utm(3)),
    ("utm/term", Endpoint::Utm(4)),
    ("goals", Endpoint::Goals),
    ("events", Endpoint::Events),
    ("event/meta", Endpoint::EventMeta),
    ("event/list", Endpoint::EventList),
    ("event/page", Endpoint::EventPage),
    ("funnel", Endpoint::Funnel),
    ("growth", Endpoint::Growth),
    ("active", Endpoint::Active),
    ("hours", Endpoint::Hours),
    ("language", Endpoint::Language),
    ("referrer", Endpoint::Referrer),
    ("keywords", Endpoint::Keywords),
    ("os", Endpoint::Os),
    ("os/version", Endpoint::OsVersion),
    ("browser", Endpoint::Browser),
    ("browser/version", Endpoint::BrowserVersion),
    ("platform", Endpoint::Platform),
    ("screen", Endpoint::Screen),
    ("country", Endpoint::Country),
    ("region", Endpoint::Region),
    ("city", Endpoint::City),
    ("tags", Endpoint::Tags),
    ("tag/details", Endpoint::TagDetails),
];

impl Endpoint {
    /// The endpoint of a request path, if it is one.
    pub fn from_path(path: &str) -> Option<Endpoint> {
        if path == "/api/v1/funnel" {
            return Some(Endpoint::FunnelList);
        }
        let rest = path.strip_prefix("/api/v1/statistics/")?;
        STATISTICS.iter().find(|(p, _)| *p == rest).map(|&(_, e)| e)
    }
}

/// Why a statistics request gets no figures.
#[derive(Debug, PartialEq)]
pub enum Refusal {
    /// 400 `{"validation":{..}}`
    Invalid(Errors),
    /// 404 `{"error":[..]}`
    NotFound(&'static str),
}

/// Answers a statistics request (its query string) from the records. `now`: Unix seconds.
pub fn answer(store: &Store, ep: Endpoint, query: &str, now: i64) -> Result<String, Refusal> {
    let dates = !matches!(ep, Endpoint::Active | Endpoint::FunnelList);
    let params = filter::parse(query, dates).map_err(Refusal::Invalid)?;
    endpoints::answer(store, ep, &params, now)
}

#[cfg(test)]
mod tests;

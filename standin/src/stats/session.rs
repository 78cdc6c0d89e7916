//! Sessions: a visitor's page views and events with no gap of more than 30
//! minutes between one and the next form one session. They are formed anew
//! for each request from the records in the requested time range.

use super::record::Record;

/// Longest gap inside one session, in seconds.
pub const SESSION_GAP: i64 = 30 * 60;

#[derive(Debug)]
pub struct Session<'a> {
    /// Time of the first and the last item (Unix seconds).
    pub start: i64,
    pub end: i64,
    pub items: u32,
    pub pageviews: u32,
    /// Path of the first and the last page view (of the first and the last item
    /// when the session has only events).
    pub entry: &'a str,
    pub exit: &'a str,
}

impl Session<'_> {
    /// A session with exactly one page view.
    pub fn bounced(&self) -> bool {
        self.pageviews == 1
    }
    pub fn duration(&self) -> i64 {
        self.end - self.start
    }
}

/// A record in a window, with what its session says about it.
#[derive(Debug)]
pub struct Item<'a> {
    pub rec: &'a Record,
    /// Index into `Window::sessions`.
    pub session: usize,
    /// The first / last page view of its session.
    pub entry: bool,
    pub exit: bool,
    /// Page views: seconds until the next page view of the session, if there is one.
    pub time_on_page: Option<i64>,
}

/// The records of a time range, ordered by visitor and time, with their sessions.
#[derive(Debug, Default)]
pub struct Window<'a> {
    pub items: Vec<Item<'a>>,
    pub sessions: Vec<Session<'a>>,
}

impl<'a> Window<'a> {
    /// The records with `lo <= time < hi`.
    pub fn new(records: impl IntoIterator<Item = &'a Record>, lo: i64, hi: i64) -> Window<'a> {
        let mut recs: Vec<&Record> = records
            .into_iter()
            .filter(|r| r.time >= lo && r.time < hi)
            .collect();
        // Stable: items of the same second keep their order of arrival.
        recs.sort_by_key(|r| (r.visitor, r.time));
        let mut w = Window {
            items: Vec::with_capacity(recs.len()),
            sessions: Vec::new(),
        };
        let mut first = 0;
        while first < recs.len() {
            let mut last = first;
            while last + 1 < recs.len()
                && recs[last + 1].visitor == recs[first].visitor
                && recs[last + 1].time - recs[last].time <= SESSION_GAP
            {
                last += 1;
            }
            w.add_session(&recs[first..=last]);
            first = last + 1;
        }
        w
    }

    fn add_session(&mut self, recs: &[&'a Record]) {
        let id = self.sessions.len();
        let views: Vec<usize> = (0..recs.len()).filter(|&i| !recs[i].is_event()).collect();
        let (entry, exit) = match (views.first(), views.last()) {
            (Some(&a), Some(&b)) => (&*recs[a].page.path, &*recs[b].page.path),
            _ => (&*recs[0].page.path, &*recs[recs.len() - 1].page.path),
        };
        self.sessions.push(Session {
            start: recs[0].time,
            end: recs[recs.len() - 1].time,
            items: recs.len() as u32,
            pageviews: views.len() as u32,
            entry,
            exit,
        });
        let base = self.items.len();
        for r in recs {
            self.items.push(Item {
                rec: r,
                session: id,
                entry: false,
                exit: false,
                time_on_page: None,
            });
        }
        for (n, &v) in views.iter().enumerate() {
            let it = &mut self.items[base + v];
            it.entry = n == 0;
            it.exit = n + 1 == views.len();
            it.time_on_page = views.get(n + 1).map(|&next| recs[next].time - recs[v].time);
        }
    }

    pub fn session(&self, item: &Item) -> &Session<'a> {
        &self.sessions[item.session]
    }
}

#[cfg(test)]
mod tests {
    use super::super::record::{Client, Event, Page};
    use super::*;
    use std::sync::Arc;

    fn rec(time: i64, visitor: u64, path: &str, event: Option<&str>) -> Record {
        Record {
            time,
            visitor,
            client: Arc::new(Client::default()),
            page: Arc::new(Page {
                path: path.into(),
                ..Page::default()
            }),
            tags: Box::new([]),
            event: event.map(|n| {
                Box::new(Event {
                    name: n.into(),
                    duration: 0,
                    meta: Box::new([]),
                })
            }),
        }
    }

    #[test]
    fn sessions_split_on_gaps_and_visitors() {
        let recs = [
            rec(1000, 1, "/a", None),
            rec(1060, 1, "/b", None),
            rec(1070, 1, "/b", Some("click")),
            rec(1100, 1, "/c", None),
            rec(1100 + SESSION_GAP + 1, 1, "/d", None), // new session
            rec(1000, 2, "/x", Some("only")),           // events only
            rec(5, 1, "/early", None),                  // before the window
        ];
        let w = Window::new(&recs, 10, 100_000);
        assert_eq!(w.items.len(), 6);
        assert_eq!(w.sessions.len(), 3);
        let s = &w.sessions[0];
        assert_eq!((s.start, s.end, s.items, s.pageviews), (1000, 1100, 4, 3));
        assert_eq!(
            (s.entry, s.exit, s.bounced(), s.duration()),
            ("/a", "/c", false, 100)
        );
        let s = &w.sessions[1];
        assert_eq!(
            (s.pageviews, s.entry, s.exit, s.bounced()),
            (1, "/d", "/d", true)
        );
        let s = &w.sessions[2];
        assert_eq!((s.start, s.pageviews, s.entry), (1000, 0, "/x"));
        let flags: Vec<_> = w.items[..4]
            .iter()
            .map(|i| (i.entry, i.exit, i.time_on_page))
            .collect();
        assert_eq!(
            flags,
            [
                (true, false, Some(60)),
                (false, false, Some(40)),
                (false, false, None), // the event
                (false, true, None),
            ]
        );
        // Exactly SESSION_GAP apart is still one session.
        let recs = [rec(0, 1, "/a", None), rec(SESSION_GAP, 1, "/b", None)];
        assert_eq!(Window::new(&recs, 0, i64::MAX).sessions.len(), 1);
    }
}

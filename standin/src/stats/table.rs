//! Result rows: search, sort, offset and limit for the list endpoints, and
//! JSON rendering with the fields in the order the API documents them.

use std::cmp::Ordering;

use super::filter::{Dir, ListOpts};
use crate::items::Errors;

/// A field's value.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    S(String),
    I(i64),
    F(f64),
    Null,
    /// JSON text, written as it is (objects, arrays).
    Raw(String),
}

impl V {
    pub fn s(s: &str) -> V {
        V::S(s.to_string())
    }
    pub fn u(n: usize) -> V {
        V::I(n as i64)
    }

    fn write(&self, out: &mut String) {
        match self {
            V::S(s) => out.push_str(&serde_json::Value::String(s.clone()).to_string()),
            V::I(n) => out.push_str(&n.to_string()),
            // Always with a fraction ("1.0"), so that float fields read as floats.
            V::F(f) => match serde_json::Number::from_f64(*f) {
                Some(n) => out.push_str(&n.to_string()),
                None => out.push_str("null"),
            },
            V::Null => out.push_str("null"),
            V::Raw(r) => out.push_str(r),
        }
    }

    fn cmp(&self, other: &V) -> Ordering {
        match (self, other) {
            (V::S(a), V::S(b)) | (V::Raw(a), V::Raw(b)) => a.cmp(b),
            (V::I(a), V::I(b)) => a.cmp(b),
            (V::F(a), V::F(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
            (V::I(a), V::F(b)) => (*a as f64).partial_cmp(b).unwrap_or(Ordering::Equal),
            (V::F(a), V::I(b)) => a.partial_cmp(&(*b as f64)).unwrap_or(Ordering::Equal),
            (V::Null, V::Null) => Ordering::Equal,
            (V::Null, _) => Ordering::Less,
            (_, V::Null) => Ordering::Greater,
            _ => Ordering::Equal,
        }
    }
}

/// `a / b` rounded to 4 decimal places; 0 when `b` is 0.
pub fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        (a / b * 10_000.0).round() / 10_000.0
    }
}

/// `{"field":value,...}`
pub fn object(fields: &[&str], values: &[V]) -> String {
    let mut s = String::from("{");
    for (i, (f, v)) in fields.iter().zip(values).enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push('"');
        s.push_str(f);
        s.push_str("\":");
        v.write(&mut s);
    }
    s.push('}');
    s
}

/// Rows of one result type.
pub struct Table {
    pub fields: &'static [&'static str],
    /// The row's main field: `search` looks in it and it breaks ties.
    pub key: &'static str,
    pub rows: Vec<Vec<V>>,
}

impl Table {
    pub fn new(fields: &'static [&'static str], key: &'static str) -> Table {
        debug_assert!(fields.contains(&key));
        Table {
            fields,
            key,
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<V>) {
        debug_assert_eq!(row.len(), self.fields.len());
        self.rows.push(row);
    }

    fn index(&self, field: &str) -> Option<usize> {
        self.fields.iter().position(|f| *f == field)
    }

    /// Applies search, sort, offset and limit (in that order).
    pub fn list(mut self, o: &ListOpts) -> Result<Table, Errors> {
        let key = self.index(self.key).unwrap_or(0);
        let sort = match &o.sort {
            None => None,
            Some(s) => match self.index(s) {
                Some(i) => Some(i),
                None => {
                    return Err(vec![(
                        "sort".into(),
                        format!("sort must be one of: {}", self.fields.join(", ")),
                    )])
                }
            },
        };
        if let Some(q) = &o.search {
            let q = q.to_lowercase();
            self.rows.retain(|r| match &r[key] {
                V::S(s) => s.to_lowercase().contains(&q),
                _ => true,
            });
        }
        let visitors = self.index("visitors");
        // Text sorts ascending and numbers descending unless told otherwise.
        let dir = |i: usize, rows: &[Vec<V>]| match (o.direction, rows.first().map(|r| &r[i])) {
            (Some(d), _) => d,
            (None, Some(V::S(_))) => Dir::Asc,
            (None, _) => Dir::Desc,
        };
        let mut order: Vec<(usize, Dir)> = Vec::new();
        match sort {
            Some(i) => order.push((i, dir(i, &self.rows))),
            None => {
                if let Some(v) = visitors {
                    order.push((v, Dir::Desc));
                }
            }
        }
        order.push((key, Dir::Asc));
        order.extend((0..self.fields.len()).map(|i| (i, Dir::Asc)));
        self.rows.sort_by(|a, b| {
            for &(i, d) in &order {
                let c = a[i].cmp(&b[i]);
                let c = if d == Dir::Desc { c.reverse() } else { c };
                if c != Ordering::Equal {
                    return c;
                }
            }
            Ordering::Equal
        });
        let start = o.offset.min(self.rows.len());
        self.rows.drain(..start);
        if let Some(l) = o.limit {
            self.rows.truncate(l);
        }
        Ok(self)
    }

    /// A JSON array of objects.
    pub fn json(&self) -> String {
        let mut s = String::from("[");
        for (i, r) in self.rows.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&object(self.fields, r));
        }
        s.push(']');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let mut t = Table::new(&["name", "visitors", "rate"], "name");
        for (n, v, r) in [("b", 2, 0.5), ("a", 2, 0.25), ("C", 5, 1.0), ("d", 1, 0.75)] {
            t.push(vec![V::s(n), V::I(v), V::F(r)]);
        }
        t
    }

    fn names(t: &Table) -> Vec<String> {
        t.rows
            .iter()
            .map(|r| match &r[0] {
                V::S(s) => s.clone(),
                _ => unreachable!(),
            })
            .collect()
    }

    fn opts(sort: Option<&str>, dir: Option<Dir>) -> ListOpts {
        ListOpts {
            sort: sort.map(str::to_string),
            direction: dir,
            ..ListOpts::default()
        }
    }

    #[test]
    fn sorting() {
        let t = table().list(&ListOpts::default()).unwrap();
        assert_eq!(names(&t), ["C", "a", "b", "d"], "visitors desc, then name");
        let t = table().list(&opts(Some("rate"), None)).unwrap();
        assert_eq!(names(&t), ["C", "d", "b", "a"]);
        let t = table().list(&opts(Some("rate"), Some(Dir::Asc))).unwrap();
        assert_eq!(names(&t), ["a", "b", "d", "C"]);
        let t = table().list(&opts(Some("name"), None)).unwrap();
        assert_eq!(
            names(&t),
            ["C", "a", "b", "d"],
            "text ascending (byte order)"
        );
        let t = table().list(&opts(Some("name"), Some(Dir::Desc))).unwrap();
        assert_eq!(names(&t), ["d", "b", "a", "C"]);
        let e = table().list(&opts(Some("nope"), None)).err().unwrap();
        assert_eq!(e[0].0, "sort");
    }

    #[test]
    fn search_offset_limit() {
        let o = ListOpts {
            search: Some("c".into()),
            ..ListOpts::default()
        };
        assert_eq!(names(&table().list(&o).unwrap()), ["C"], "case-insensitive");
        let o = ListOpts {
            offset: 1,
            limit: Some(2),
            ..ListOpts::default()
        };
        assert_eq!(names(&table().list(&o).unwrap()), ["a", "b"]);
        let o = ListOpts {
            offset: 9,
            ..ListOpts::default()
        };
        assert!(table().list(&o).unwrap().rows.is_empty());
    }

    #[test]
    fn rendering() {
        let mut t = Table::new(&["k", "n", "f", "z", "m"], "k");
        t.push(vec![
            V::s("a\"b"),
            V::I(3),
            V::F(0.5),
            V::Null,
            V::Raw("{\"x\":\"y\"}".into()),
        ]);
        t.push(vec![
            V::s(""),
            V::I(0),
            V::F(0.0),
            V::F(f64::NAN),
            V::Raw("[]".into()),
        ]);
        assert_eq!(
            t.json(),
            r#"[{"k":"a\"b","n":3,"f":0.5,"z":null,"m":{"x":"y"}},{"k":"","n":0,"f":0.0,"z":null,"m":[]}]"#
        );
        assert_eq!(ratio(2.0, 3.0), 0.6667);
        assert_eq!(ratio(1.0, 0.0), 0.0);
    }
}

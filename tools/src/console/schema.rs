//! A database's schema as `GET /database/{db}` reports it, and the console's views of it:
//! `CLASSES`, `INFO CLASS`, `CLUSTERS`, `INDEXES` and the properties part of `INFO`.
//!
//! The views follow OrientDB's console (`OConsoleDatabaseApp.java` in
//! `orientechnologies/orientdb`, methods `listClasses`, `infoClass`, `listClusters`,
//! `listIndexes`, `listProperties`): the same headings (`CLASSES`, `CLUSTERS (collections)`,
//! `INDEXES`, `CLASS 'X'`, `PROPERTIES`), the same columns, rows sorted by name ignoring case
//! and a `TOTAL` footer row. Record counts are not polymorphic, as there (`countClass(name,
//! false)`). Columns OrientDB shows that the server does not report (conflict strategy,
//! cluster selection, oversize, min/max/collate/default of a property) are left out.
//!
//! Missing or mistyped fields in the answer read as empty, so a partial answer still renders.

use super::json::{Json, JsonText};
use super::table::render_table;

/// One property of a class.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Property {
    /// Its name.
    pub name: String,
    /// Its type (`STRING`, `LINK`, ...).
    pub ty: String,
    /// The linked class or type, for links and collections.
    pub linked: String,
    /// Must be present.
    pub mandatory: bool,
    /// Cannot change once set.
    pub readonly: bool,
    /// Cannot be null.
    pub not_null: bool,
}

/// One class.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Class {
    /// Its name.
    pub name: String,
    /// Its superclass, if any.
    pub super_class: Option<String>,
    /// Abstract classes have no clusters of their own.
    pub is_abstract: bool,
    /// Strict mode: only declared properties.
    pub strict: bool,
    /// The ids of its clusters, the default one first.
    pub clusters: Vec<i64>,
    /// Its records, not counting subclasses.
    pub records: u64,
    /// Its declared properties.
    pub properties: Vec<Property>,
}

/// One cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cluster {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The class it belongs to.
    pub class: Option<String>,
    /// Its records.
    pub records: u64,
}

/// One index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Index {
    /// Its name.
    pub name: String,
    /// Its type (`UNIQUE`, `NOTUNIQUE`, ...).
    pub kind: String,
    /// The class it indexes.
    pub class: String,
    /// The indexed properties.
    pub fields: Vec<String>,
    /// Its entries.
    pub size: u64,
}

/// A database's schema and a few of its facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    /// The database name.
    pub name: String,
    /// `ONLINE` or `OFFLINE`.
    pub status: String,
    /// The last applied log position.
    pub applied_lsn: String,
    /// The last checkpoint's log position.
    pub checkpoint_lsn: String,
    /// The classes, in the server's order.
    pub classes: Vec<Class>,
    /// The clusters, in the server's order.
    pub clusters: Vec<Cluster>,
    /// The indexes, in the server's order.
    pub indexes: Vec<Index>,
}

fn text(value: &Json, key: &str) -> String {
    match value.get(key) {
        None | Some(Json::Null) => String::new(),
        Some(v) => v.to_cell(),
    }
}

fn opt_text(value: &Json, key: &str) -> Option<String> {
    Some(text(value, key)).filter(|t| !t.is_empty())
}

fn flag(value: &Json, key: &str) -> bool {
    value.get(key).and_then(Json::as_bool).unwrap_or(false)
}

fn count(value: &Json, key: &str) -> u64 {
    value.get(key).and_then(Json::as_u64).unwrap_or(0)
}

fn list<'a>(value: &'a Json, key: &str) -> &'a [Json] {
    value.get(key).and_then(Json::as_array).map_or(&[], Vec::as_slice)
}

impl Schema {
    /// Reads a `GET /database/{db}` answer.
    pub fn from_json(info: &Json) -> Schema {
        let classes = list(info, "classes")
            .iter()
            .map(|c| Class {
                name: text(c, "name"),
                super_class: opt_text(c, "superClass"),
                is_abstract: flag(c, "abstract"),
                strict: flag(c, "strictMode"),
                clusters: list(c, "clusters").iter().filter_map(Json::as_i64).collect(),
                records: count(c, "records"),
                properties: list(c, "properties")
                    .iter()
                    .map(|p| Property {
                        name: text(p, "name"),
                        ty: text(p, "type"),
                        linked: opt_text(p, "linkedClass").unwrap_or_else(|| text(p, "linkedType")),
                        mandatory: flag(p, "mandatory"),
                        readonly: flag(p, "readonly"),
                        not_null: flag(p, "notNull"),
                    })
                    .collect(),
            })
            .collect();
        let clusters = list(info, "clusters")
            .iter()
            .map(|c| Cluster {
                id: c.get("id").and_then(Json::as_i64).unwrap_or(-1),
                name: text(c, "name"),
                class: opt_text(c, "class"),
                records: count(c, "records"),
            })
            .collect();
        let indexes = list(info, "indexes")
            .iter()
            .map(|i| Index {
                name: text(i, "name"),
                kind: text(i, "type"),
                class: text(i, "class"),
                fields: list(i, "fields").iter().map(JsonText::to_cell).collect(),
                size: count(i, "size"),
            })
            .collect();
        Schema {
            name: text(info, "name"),
            status: text(info, "status"),
            applied_lsn: text(info, "appliedLsn"),
            checkpoint_lsn: text(info, "checkpointLsn"),
            classes,
            clusters,
            indexes,
        }
    }

    /// The class with this name (case-insensitive, as OrientDB's class names are).
    pub fn class(&self, name: &str) -> Option<&Class> {
        self.classes.iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// The cluster with this name (case-insensitive).
    pub fn cluster(&self, name: &str) -> Option<&Cluster> {
        self.clusters.iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }

    fn cluster_name(&self, id: i64) -> String {
        self.clusters.iter().find(|c| c.id == id).map_or_else(|| "?".to_owned(), |c| c.name.clone())
    }

    /// `name(id),name(id)` for a class's clusters; `-` for an abstract class.
    fn cluster_list(&self, class: &Class) -> String {
        if class.is_abstract {
            return "-".to_owned();
        }
        class.clusters.iter().map(|id| format!("{}({id})", self.cluster_name(*id))).collect::<Vec<_>>().join(",")
    }

    /// `CLASSES`: NAME, SUPER-CLASSES, CLUSTERS, COUNT, and a TOTAL row.
    pub fn classes_view(&self, width: Option<usize>) -> String {
        let mut classes: Vec<&Class> = self.classes.iter().collect();
        classes.sort_by_key(|c| c.name.to_lowercase());
        let mut rows: Vec<Vec<String>> = classes
            .iter()
            .map(|c| {
                let supers = c.super_class.as_ref().map_or(String::new(), |s| format!("[{s}]"));
                vec![c.name.clone(), supers, self.cluster_list(c), c.records.to_string()]
            })
            .collect();
        let total: u64 = self.classes.iter().map(|c| c.records).sum();
        rows.push(vec!["TOTAL".into(), String::new(), String::new(), total.to_string()]);
        format!("\nCLASSES\n{}", fitted(&["NAME", "SUPER-CLASSES", "CLUSTERS", "COUNT"], rows, width))
    }

    /// `CLUSTERS`: NAME, ID, CLASS, COUNT, and a TOTAL row.
    pub fn clusters_view(&self, width: Option<usize>) -> String {
        let mut clusters: Vec<&Cluster> = self.clusters.iter().collect();
        clusters.sort_by_key(|c| c.name.to_lowercase());
        let mut rows: Vec<Vec<String>> = clusters
            .iter()
            .map(|c| vec![c.name.clone(), c.id.to_string(), c.class.clone().unwrap_or_default(), c.records.to_string()])
            .collect();
        let total: u64 = self.clusters.iter().map(|c| c.records).sum();
        rows.push(vec!["TOTAL".into(), String::new(), String::new(), total.to_string()]);
        format!("\nCLUSTERS (collections)\n{}", fitted(&["NAME", "ID", "CLASS", "COUNT"], rows, width))
    }

    /// `INDEXES`: NAME, TYPE, CLASS, FIELDS (`name(TYPE)`), RECORDS, and a TOTAL row.
    pub fn indexes_view(&self, width: Option<usize>) -> String {
        let mut indexes: Vec<&Index> = self.indexes.iter().collect();
        indexes.sort_by_key(|i| i.name.to_lowercase());
        let mut rows: Vec<Vec<String>> = indexes
            .iter()
            .map(|i| vec![i.name.clone(), i.kind.clone(), i.class.clone(), self.typed_fields(i), i.size.to_string()])
            .collect();
        let total: u64 = self.indexes.iter().map(|i| i.size).sum();
        rows.push(vec!["TOTAL".into(), String::new(), String::new(), String::new(), total.to_string()]);
        format!("\nINDEXES\n{}", fitted(&["NAME", "TYPE", "CLASS", "FIELDS", "RECORDS"], rows, width))
    }

    /// `name(TYPE),...`: an index's fields with their declared types, as OrientDB shows them.
    fn typed_fields(&self, index: &Index) -> String {
        let class = self.class(&index.class);
        let ty = |field: &str| {
            class
                .and_then(|c| c.properties.iter().find(|p| p.name == field))
                .map_or_else(|| "?".to_owned(), |p| p.ty.clone())
        };
        index.fields.iter().map(|f| format!("{f}({})", ty(f))).collect::<Vec<_>>().join(",")
    }

    /// `INFO CLASS name`, or `None` when there is no such class.
    pub fn class_view(&self, name: &str, width: Option<usize>) -> Option<String> {
        let class = self.class(name)?;
        let mut out = format!("\nCLASS '{}'\n\n", class.name);
        out.push_str(&format!("Records..............: {}\n", class.records));
        if let Some(parent) = &class.super_class {
            out.push_str(&format!("Super classes........: [{parent}]\n"));
        }
        if let Some(first) = class.clusters.first().filter(|_| !class.is_abstract) {
            out.push_str(&format!("Default cluster......: {} (id={first})\n", self.cluster_name(*first)));
        }
        out.push_str(&format!("Supported clusters...: {}\n", self.cluster_list(class).replace(',', ", ")));
        out.push_str(&format!("Abstract.............: {}\n", class.is_abstract));
        out.push_str(&format!("Strict mode..........: {}\n", class.strict));
        let mut subclasses: Vec<&str> = self
            .classes
            .iter()
            .filter(|c| c.super_class.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(&class.name)))
            .map(|c| c.name.as_str())
            .collect();
        subclasses.sort_by_key(|c| c.to_lowercase());
        if !subclasses.is_empty() {
            out.push_str(&format!("Subclasses...........: {}\n", subclasses.join(", ")));
        }
        if !class.properties.is_empty() {
            let headers = ["NAME", "TYPE", "LINKED-TYPE/CLASS", "MANDATORY", "READONLY", "NOT-NULL"];
            let rows = class
                .properties
                .iter()
                .map(|p| {
                    vec![
                        p.name.clone(),
                        p.ty.clone(),
                        p.linked.clone(),
                        p.mandatory.to_string(),
                        p.readonly.to_string(),
                        p.not_null.to_string(),
                    ]
                })
                .collect();
            out.push_str(&format!("\nPROPERTIES\n{}", fitted(&headers, rows, width)));
        }
        let indexes: Vec<&Index> = self.indexes.iter().filter(|i| i.class.eq_ignore_ascii_case(&class.name)).collect();
        if !indexes.is_empty() {
            let rows = indexes.iter().map(|i| vec![i.name.clone(), i.fields.join(", ")]).collect();
            out.push_str(&format!(
                "\nINDEXES ({} altogether)\n{}",
                indexes.len(),
                fitted(&["NAME", "PROPERTIES"], rows, width)
            ));
        }
        Some(out)
    }

    /// The `DATABASE PROPERTIES` part of `INFO`.
    pub fn properties_view(&self, width: Option<usize>) -> String {
        let rows = vec![
            vec!["Name".into(), self.name.clone()],
            vec!["Status".into(), self.status.clone()],
            vec!["Applied-LSN".into(), self.applied_lsn.clone()],
            vec!["Checkpoint-LSN".into(), self.checkpoint_lsn.clone()],
        ];
        format!("\nDATABASE PROPERTIES\n{}", fitted(&["NAME", "VALUE"], rows, width))
    }

    /// Every class, property and cluster name, for tab completion.
    pub fn names(&self) -> (Vec<String>, Vec<(String, String)>, Vec<String>) {
        let classes = self.classes.iter().map(|c| c.name.clone()).collect();
        let properties =
            self.classes.iter().flat_map(|c| c.properties.iter().map(|p| (c.name.clone(), p.name.clone()))).collect();
        let clusters = self.clusters.iter().map(|c| c.name.clone()).collect();
        (classes, properties, clusters)
    }
}

/// A table with these headers and rows, fitted to `width` columns when given.
fn fitted(headers: &[&str], rows: Vec<Vec<String>>, width: Option<usize>) -> String {
    let headers: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    let (headers, rows) = match width {
        Some(width) => super::table::fit_to_width(headers, rows, width),
        None => (headers, rows),
    };
    render_table(&headers, &rows)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema::from_json(&serde_json::json!({
            "name": "demo", "status": "ONLINE", "appliedLsn": 7, "checkpointLsn": 5,
            "classes": [
                {"name": "V", "superClass": null, "abstract": false, "clusters": [9], "records": 2, "properties": []},
                {"name": "person", "superClass": "V", "clusters": [12], "records": 3,
                 "properties": [{"name": "name", "type": "STRING", "mandatory": true, "notNull": false, "readonly": false}]},
                {"name": "Animal", "superClass": "V", "abstract": true, "clusters": [], "records": 0, "properties": []}
            ],
            "clusters": [{"id": 9, "name": "v", "class": "V", "records": 2}, {"id": 12, "name": "person", "class": "person", "records": 3}],
            "indexes": [{"name": "person.name", "class": "person", "fields": ["name"], "type": "UNIQUE", "size": 3}]
        }))
    }

    #[test]
    fn classes_are_sorted_with_a_total() {
        let got = schema().classes_view(None);
        let rows: Vec<&str> = got.lines().filter(|l| l.starts_with("| ")).collect();
        let names: Vec<&str> = rows.iter().map(|r| r.split('|').nth(1).unwrap().trim()).collect();
        assert_eq!(names, ["NAME", "Animal", "person", "V", "TOTAL"]);
        assert!(got.starts_with("\nCLASSES\n+"), "{got}");
        assert!(rows[2].contains("person(12)") && rows[4].ends_with("| 5     |"), "{got}");
    }

    #[test]
    fn class_info_clusters_and_indexes() {
        let s = schema();
        let info = s.class_view("PERSON", None).unwrap();
        for needle in [
            "CLASS 'person'",
            "Records..............: 3",
            "Super classes........: [V]",
            "Default cluster......: person (id=12)",
            "Supported clusters...: person(12)",
            "PROPERTIES",
            "| name | STRING |",
            "INDEXES (1 altogether)",
        ] {
            assert!(info.contains(needle), "{needle}: {info}");
        }
        assert!(s.class_view("V", None).unwrap().contains("Subclasses...........: Animal, person"));
        assert_eq!(s.class_view("Nope", None), None);
        let clusters = s.clusters_view(None);
        assert!(clusters.contains("| person | 12 | person | 3     |"), "{clusters}");
        assert!(clusters.contains("| TOTAL  |    |        | 5     |"), "{clusters}");
        let indexes = s.indexes_view(None);
        assert!(indexes.contains("| person.name | UNIQUE | person | name(STRING) | 3       |"), "{indexes}");
        assert!(s.properties_view(None).contains("| Applied-LSN    | 7      |"));
    }

    #[test]
    fn partial_answers_render() {
        let s = Schema::from_json(&serde_json::json!({"classes": [{"name": 5}], "clusters": "x"}));
        assert_eq!(s.classes.len(), 1);
        assert!(s.clusters.is_empty());
        assert!(s.classes_view(Some(40)).contains("TOTAL"));
    }
}

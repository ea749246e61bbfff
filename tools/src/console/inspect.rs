//! The commands that look at the server rather than at records: `INFO`, `LIST CLASSES`,
//! `INFO CLASS`, `LIST CLUSTERS`, `LIST INDEXES`, `CONFIG`, `HA STATUS`, `HA REMOVE SERVER`,
//! and the console's settings (`SET`, `PROPERTIES`).
//!
//! Each fetches what it shows when it runs (`GET /database/{db}` for the schema views,
//! `GET /server` for `CONFIG`, `GET /distributed/status` for `HA STATUS`), as OrientDB's
//! console reloads the metadata before each of them (`OConsoleDatabaseApp.java`). In JSON
//! format they print the server's answer (the part of it they show) instead of tables.
//!
//! `CONFIG` shows what `GET /server` reports (name, version, node, uptime, databases): the
//! server has no endpoint listing its configuration settings, which OrientDB's `config` shows.

use super::client::{encode_segment, Method, Request};
use super::command::{Format, HaParts, Setting};
use super::error::ConsoleError;
use super::ha::{databases_view, latency_view, servers_view};
use super::json::{Json, JsonText};
use super::schema::Schema;
use super::servers::Server;
use super::session::Session;
use super::table::{fit_to_width, ha_status_table, render_table};

impl Session {
    /// The current database's schema, and the raw answer for JSON format.
    fn schema_and_answer(&mut self) -> Result<(Schema, Json), ConsoleError> {
        let db = self.require_database()?;
        let path = format!("/database/{}", encode_segment(&db));
        let body = self.send(Request { method: Method::Get, path, body: None, repeatable: true })?.body;
        Ok((Schema::from_json(&body), body))
    }

    /// Prints `part` of the `/database` answer in JSON format, or `view` of the schema.
    fn schema_view(&mut self, part: &str, view: impl Fn(&Schema, Option<usize>) -> String) -> Result<(), ConsoleError> {
        let (schema, body) = self.schema_and_answer()?;
        if self.settings.format == Format::Json {
            return self.print(&format!("{}\n", body.get(part).unwrap_or(&Json::Null).to_pretty()));
        }
        let width = self.table_width();
        self.print(&view(&schema, width))
    }

    /// `LIST CLASSES`.
    pub(super) fn list_classes(&mut self) -> Result<(), ConsoleError> {
        self.schema_view("classes", Schema::classes_view)
    }

    /// `LIST CLUSTERS`.
    pub(super) fn list_clusters(&mut self) -> Result<(), ConsoleError> {
        self.schema_view("clusters", Schema::clusters_view)
    }

    /// `LIST INDEXES`.
    pub(super) fn list_indexes(&mut self) -> Result<(), ConsoleError> {
        self.schema_view("indexes", Schema::indexes_view)
    }

    /// `INFO CLASS name`: an error naming the class and database when there is no such class.
    pub(super) fn info_class(&mut self, name: &str) -> Result<(), ConsoleError> {
        let (schema, body) = self.schema_and_answer()?;
        let width = self.table_width();
        let Some(view) = schema.class_view(name, width) else { return Err(self.no_such("class", name)) };
        if self.settings.format == Format::Json {
            let classes = body.get("classes").and_then(Json::as_array).map_or(&[][..], Vec::as_slice);
            let class = classes
                .iter()
                .find(|c| c.get("name").and_then(Json::as_str).is_some_and(|n| n.eq_ignore_ascii_case(name)));
            return self.print(&format!("{}\n", class.unwrap_or(&Json::Null).to_pretty()));
        }
        self.print(&view)
    }

    /// `INFO`: the connection; with a database, its properties, clusters, classes and indexes.
    pub(super) fn info(&mut self) -> Result<(), ConsoleError> {
        let Some(client) = &self.client else {
            return self.print("Not connected. Use CONNECT <url> <user> <password>.\n");
        };
        let current = client.current_server().to_string();
        let servers: Vec<String> = client.servers().iter().map(Server::to_string).collect();
        let user = client.user().map(str::to_owned);
        let (schema, body) = match self.database.is_some() {
            true => {
                let (schema, body) = self.schema_and_answer()?;
                (Some(schema), body)
            }
            false => (None, Json::Null),
        };
        if self.settings.format == Format::Json {
            let info = serde_json::json!({
                "servers": servers, "currentServer": current, "user": user,
                "database": self.database, "databaseInfo": body,
            });
            return self.print(&format!("{}\n", info.to_pretty()));
        }
        let marked: Vec<String> =
            servers.into_iter().map(|s| if s == current { format!("{s} (in use)") } else { s }).collect();
        let mut text = format!(
            "Servers:  {}\nUser:     {}\nDatabase: {}\nFormat:   {} (limit {}, max cell width {})\n",
            marked.join(", "),
            user.as_deref().unwrap_or("(none)"),
            self.database.as_deref().unwrap_or("(none)"),
            self.settings.format,
            self.settings.limit,
            self.settings.max_width
        );
        if let (Some(schema), Some(db)) = (schema, &self.database) {
            let width = self.table_width();
            text.push_str(&format!("\nCurrent database: {db} (url={current}/{db})\n"));
            text.push_str(&schema.properties_view(width));
            text.push_str(&schema.clusters_view(width));
            text.push_str(&schema.classes_view(width));
            text.push_str(&schema.indexes_view(width));
        }
        self.print(&text)
    }

    /// `CONFIG`: what `GET /server` reports, as NAME/VALUE rows.
    pub(super) fn config(&mut self) -> Result<(), ConsoleError> {
        self.require_client()?;
        let request = Request { method: Method::Get, path: "/server".into(), body: None, repeatable: true };
        let body = self.send(request)?.body;
        if self.settings.format == Format::Json {
            return self.print(&format!("{}\n", body.to_pretty()));
        }
        let rows: Vec<Vec<String>> =
            body.as_object().map(|o| o.iter().map(|(k, v)| vec![k.clone(), v.to_cell()]).collect()).unwrap_or_default();
        let headers = vec!["NAME".to_owned(), "VALUE".to_owned()];
        let (headers, rows) = match self.table_width() {
            Some(w) => fit_to_width(headers, rows, w),
            None => (headers, rows),
        };
        self.print(&format!("\nREMOTE SERVER CONFIGURATION\n{}", render_table(&headers, &rows)))
    }

    /// `HA STATUS [-servers] [-db] [-latency]`.
    pub(super) fn ha_status(&mut self, parts: HaParts) -> Result<(), ConsoleError> {
        let request = Request { method: Method::Get, path: "/distributed/status".into(), body: None, repeatable: true };
        let status = self.send(request)?.body;
        if self.settings.format == Format::Json {
            return self.print(&format!("{}\n", status.to_pretty()));
        }
        if parts == HaParts::default() {
            return self.print(&ha_status_table(&status, self.settings.max_width));
        }
        let mut text = String::new();
        if parts.servers {
            text.push_str(&servers_view(&status));
        }
        if parts.db {
            text.push_str(&databases_view(&status, self.database.as_deref()));
        }
        if parts.latency {
            text.push_str(&latency_view(&status));
        }
        self.print(&text)
    }

    /// `HA REMOVE SERVER name`: `DELETE /distributed/nodes/{name}`; the server's refusal (an
    /// unknown name, the local node) comes back as its error envelope.
    pub(super) fn ha_remove_server(&mut self, name: &str) -> Result<(), ConsoleError> {
        self.require_client()?;
        let path = format!("/distributed/nodes/{}", encode_segment(name));
        let body = self.send(Request { method: Method::Delete, path, body: None, repeatable: false })?.body;
        if self.settings.format == Format::Json {
            return self.print(&format!("{}\n", body.to_pretty()));
        }
        let mut text = format!("Server '{name}' removed from the cluster configuration.\n");
        if body != Json::Null {
            text.push_str(&format!("The server answered: {}\n", body.to_compact()));
        }
        self.print(&text)
    }

    /// `SET` alone and `PROPERTIES`.
    pub(super) fn show_settings(&mut self) -> Result<(), ConsoleError> {
        let s = self.settings;
        let text = format!(
            "format = {}\nlimit = {}\ntimeout = {}\nwidth = {}\nmaxwidth = {}\nmaxBinaryDisplay = {}\n",
            s.format,
            s.limit,
            s.timeout_ms.map_or_else(|| "the server's default".to_owned(), |ms| format!("{ms} ms")),
            s.width.map_or_else(|| "auto".to_owned(), |w| w.to_string()),
            s.max_width,
            s.max_binary_display
        );
        self.print(&text)
    }

    /// `SET name value`; at a terminal it says the old and new value, as OrientDB's `set` does.
    pub(super) fn set(&mut self, setting: Setting) -> Result<(), ConsoleError> {
        let s = &mut self.settings;
        let (name, old, new) = match setting {
            Setting::Format(f) => ("format", std::mem::replace(&mut s.format, f).to_string(), f.to_string()),
            Setting::MaxWidth(w) => ("maxwidth", std::mem::replace(&mut s.max_width, w).to_string(), w.to_string()),
            Setting::Limit(n) => ("limit", std::mem::replace(&mut s.limit, n).to_string(), n.to_string()),
            Setting::MaxBinaryDisplay(n) => {
                ("maxBinaryDisplay", std::mem::replace(&mut s.max_binary_display, n).to_string(), n.to_string())
            }
            Setting::Width(w) => {
                let text = |w: Option<usize>| w.map_or_else(|| "auto".to_owned(), |w| w.to_string());
                ("width", text(std::mem::replace(&mut s.width, w)), text(w))
            }
            Setting::Timeout(ms) => {
                let text = |ms: Option<u64>| ms.map_or_else(|| "default".to_owned(), |ms| ms.to_string());
                let old = text(std::mem::replace(&mut s.timeout_ms, ms));
                self.options.query_timeout_ms = ms;
                if let Some(client) = &mut self.client {
                    client.set_query_timeout(ms)?;
                }
                ("timeout", old, text(ms))
            }
        };
        if self.interactive {
            self.print(&format!("Previous value was: {old}\n{name} = {new}\n"))?;
        }
        Ok(())
    }
}

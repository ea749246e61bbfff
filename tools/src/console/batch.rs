//! `BEGIN ... COMMIT` in the console: collecting statements into one transaction.
//!
//! HTTP is stateless, so the console cannot hold a server-side transaction open between
//! requests. Instead it collects the statements typed between `BEGIN` and `COMMIT` and sends them
//! at `COMMIT` as one `POST /batch/{db}` script with `"transaction": true`, which the server runs
//! as one transaction: all of it is applied or none. `ROLLBACK` drops what was collected without
//! contacting the server. Nothing runs before `COMMIT`, so a statement inside the transaction
//! cannot see the results of the ones before it in the console (it can on the server).

use super::json::Json;

/// The statements collected since `BEGIN`, if a transaction is open.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// `Some` between BEGIN and COMMIT/ROLLBACK: the statements so far, in order.
    statements: Option<Vec<String>>,
}

impl Transaction {
    /// True between BEGIN and COMMIT or ROLLBACK.
    pub fn is_open(&self) -> bool {
        self.statements.is_some()
    }

    /// How many statements are collected.
    pub fn len(&self) -> usize {
        self.statements.as_ref().map_or(0, Vec::len)
    }

    /// True when no statement is collected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Opens a transaction; an error if one is open already (they do not nest).
    pub fn begin(&mut self) -> Result<(), String> {
        if self.is_open() {
            return Err(format!(
                "a transaction is already open ({} statement(s) collected); COMMIT or ROLLBACK it first",
                self.len()
            ));
        }
        self.statements = Some(Vec::new());
        Ok(())
    }

    /// Adds a statement if a transaction is open; gives it back otherwise.
    pub fn collect(&mut self, statement: String) -> Option<String> {
        match &mut self.statements {
            Some(statements) => {
                statements.push(statement);
                None
            }
            None => Some(statement),
        }
    }

    /// Closes the transaction and returns its statements; an error if none is open.
    pub fn commit(&mut self) -> Result<Vec<String>, String> {
        self.statements.take().ok_or_else(|| "COMMIT without BEGIN: no transaction is open".to_owned())
    }

    /// Drops the transaction; returns how many statements were dropped, or an error if none is
    /// open.
    pub fn rollback(&mut self) -> Result<usize, String> {
        self.statements.take().map(|s| s.len()).ok_or_else(|| "ROLLBACK without BEGIN: no transaction is open".into())
    }
}

/// The `POST /batch/{db}` body running `statements` as one SQL script in one transaction.
pub fn batch_body(statements: &[String]) -> Json {
    serde_json::json!({
        "transaction": true,
        "operations": [{"type": "script", "language": "sql", "script": statements}],
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::console::json::JsonText;

    #[test]
    fn collects_between_begin_and_commit() {
        let mut tx = Transaction::default();
        assert!(!tx.is_open());
        assert_eq!(tx.collect("SELECT 1".into()), Some("SELECT 1".into()), "outside a transaction it runs now");
        tx.begin().unwrap();
        assert!(tx.is_open() && tx.is_empty());
        assert_eq!(tx.collect("INSERT INTO V SET a = 1".into()), None);
        assert_eq!(tx.collect("INSERT INTO V SET a = 2".into()), None);
        assert_eq!(tx.len(), 2);
        assert!(tx.begin().unwrap_err().contains("already open (2 statement(s)"));
        assert_eq!(tx.commit().unwrap(), ["INSERT INTO V SET a = 1", "INSERT INTO V SET a = 2"]);
        assert!(!tx.is_open());
        assert!(tx.commit().unwrap_err().contains("COMMIT without BEGIN"));
    }

    #[test]
    fn rollback_drops_the_statements() {
        let mut tx = Transaction::default();
        assert!(tx.rollback().unwrap_err().contains("ROLLBACK without BEGIN"));
        tx.begin().unwrap();
        assert_eq!(tx.collect("DELETE VERTEX V".into()), None);
        assert_eq!(tx.rollback(), Ok(1));
        assert!(!tx.is_open());
        assert_eq!(tx.collect("SELECT 2".into()), Some("SELECT 2".into()));
    }

    #[test]
    fn batch_body_shape() {
        let body = batch_body(&["INSERT INTO V SET a = 'x'".into(), "SELECT FROM V".into()]);
        assert_eq!(
            body.to_compact(),
            r#"{"transaction":true,"operations":[{"type":"script","language":"sql","script":["INSERT INTO V SET a = 'x'","SELECT FROM V"]}]}"#
        );
    }
}

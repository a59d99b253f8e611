//! What a command prints: `name=value` lines and rows in words for a person, or, with
//! `--json`, one JSON object for a program (the same names; rows as arrays).

use medconsent_chain::ss58;
use medconsent_client::audit;
use medconsent_client::exit::Failure;
use medconsent_client::words::{self, Names};
use medconsent_shared::{
    Consent, EmergencyAccess, Grantee, LogEntry, Provider, Record, RecordStatus,
};
use serde_json::{json, Map, Value};
use std::fmt::Display;

/// One line on stdout. A reader that left (`medconsent … | head -1`) ends the command
/// quietly with the shell's broken-pipe status, not a panic: what was done is done.
pub(crate) fn line(text: std::fmt::Arguments) {
    use std::io::Write;
    if let Err(e) = writeln!(std::io::stdout().lock(), "{text}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("medconsent: stdout: {e}");
    }
}

pub(crate) struct Output {
    json: bool,
    object: Map<String, Value>,
}

impl Output {
    pub(crate) fn new(json: bool) -> Self {
        Self {
            json,
            object: Map::new(),
        }
    }

    /// A named value: a `name=value` line, or a member of the JSON object.
    pub(crate) fn field(&mut self, name: &str, value: impl Display + Into<Value>) {
        if self.json {
            self.object.insert(name.to_owned(), value.into());
        } else {
            line(format_args!("{name}={value}"));
        }
    }

    /// A named value whose words and JSON differ (a time, a list).
    pub(crate) fn field_as(&mut self, name: &str, words: impl Display, value: Value) {
        if self.json {
            self.object.insert(name.to_owned(), value);
        } else {
            line(format_args!("{name}={words}"));
        }
    }

    /// One row of the list `list`: a line of words, or an element of its JSON array.
    pub(crate) fn row(&mut self, list: &str, words: impl Display, value: Value) {
        if self.json {
            let rows = self
                .object
                .entry(list.to_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(rows) = rows {
                rows.push(value);
            }
        } else {
            line(format_args!("{words}"));
        }
    }

    /// Ends the output: prints the JSON object (words were printed as they came).
    pub(crate) fn finish(self) {
        if self.json {
            line(format_args!("{}", Value::Object(self.object)));
        }
    }

    /// A failure: in words on stderr always; with `--json` also as an object on stdout
    /// (with what was gathered before it).
    pub(crate) fn fail(mut self, failure: &Failure) {
        eprintln!("medconsent: {}", failure.message);
        if self.json {
            let kind = format!("{:?}", failure.exit).to_lowercase();
            self.object.insert(
                "error".into(),
                json!({ "exit": failure.exit.code(), "kind": kind, "message": failure.message }),
            );
            line(format_args!("{}", Value::Object(self.object)));
        }
    }
}

pub(crate) fn time(at: u64) -> Value {
    json!({ "ms": at, "utc": words::describe_time(at) })
}

pub(crate) fn consent(c: &Consent, names: &Names) -> Value {
    let grantee_name = match &c.grantee {
        Grantee::Account(account) => names.name(account),
        Grantee::Anyone => None,
    };
    json!({
        "id": c.id,
        "grantee": words::describe_grantee(&c.grantee, &Names::default()),
        "grantee_name": grantee_name,
        "decision": format!("{:?}", c.terms.decision).to_lowercase(),
        "scope": words::describe_scope(&c.terms.scope),
        "actions": words::describe_actions(c.terms.actions),
        "purposes": words::describe_purposes(c.terms.purposes),
        "from": time(c.terms.valid_from),
        "until": c.terms.valid_until.map(time),
        "status": format!("{:?}", c.status).to_lowercase(),
        "words": words::describe_consent(c, names),
    })
}

pub(crate) fn record(r: &Record) -> Value {
    json!({
        "id": r.id,
        "patient": ss58(&r.patient),
        "author": ss58(&r.author),
        "category": r.category,
        "category_name": medconsent_shared::words::category_name(r.category),
        "version": r.version,
        "content_hash": format!("0x{}", hex::encode(r.content_hash)),
        "updated": time(r.updated_at),
        "status": match r.status { RecordStatus::Active => "active", RecordStatus::Retired => "retired" },
    })
}

pub(crate) fn entry(e: &LogEntry, names: &Names) -> Value {
    json!({
        "seq": e.seq,
        "block": e.block,
        "at": time(e.timestamp),
        "actor": ss58(&e.actor),
        "actor_name": names.name(&e.actor),
        "record": e.record,
        "kind": audit::kind_words(&e.kind),
        "purpose": e.purpose.map(words::purpose_code),
        "consent": e.consent,
        "hash": format!("0x{}", hex::encode(e.hash)),
        "words": audit::describe(e, names),
    })
}

pub(crate) fn provider(
    account: &medconsent_shared::AccountId,
    p: &Provider,
    name: Option<&str>,
) -> Value {
    json!({
        "account": ss58(account),
        "name": name,
        "roles": words::describe_roles(p.roles),
        "status": format!("{:?}", p.status).to_lowercase(),
        "public_key": format!("0x{}", hex::encode(p.public_key)),
        "registered": time(p.registered_at),
    })
}

pub(crate) fn emergency(index: usize, e: &EmergencyAccess, names: &Names) -> Value {
    json!({
        "index": index,
        "record": e.record_id,
        "responder": ss58(&e.responder),
        "responder_name": names.name(&e.responder),
        "log_seq": e.log_seq,
        "at": time(e.at),
        "review": format!("{:?}", e.review).to_lowercase(),
    })
}

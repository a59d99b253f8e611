//! `medconsent`: seal a record for the chain, share its key with grantees, open it.

use medconsent_client::store::Store;
use medconsent_client::{parse_hex32, wrap, Binding, Error, Result};
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use x25519_dalek::{PublicKey, StaticSecret};

const USAGE: &str = "\
usage:
  medconsent keygen --secret-out FILE
      new X25519 key pair; the secret (hex) goes to the new FILE (mode 0600; an existing
      FILE is refused), the public key is printed
  medconsent public-key --secret FILE
  medconsent seal --in FILE --store DIR --record-id N --version V --to PUBHEX [--to PUBHEX ...]
      seal FILE with a new record key, keep the blob in DIR, wrap the key to each --to;
      prints content_hash (for the chain), cid and blob
  medconsent share --store DIR --hash HEX --secret FILE --to PUBHEX
      wrap the record key, unwrapped with your secret, to another public key
  medconsent open --store DIR --hash HEX --secret FILE --record-id N --version V --out FILE
      check the blob against HEX (the hash on chain), then decrypt it to FILE";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(message) = run(&args) {
        eprintln!("medconsent: {message}");
        std::process::exit(1);
    }
}

/// `--name value` pairs; `--to` may repeat.
struct Args(HashMap<String, Vec<String>>);

impl Args {
    fn parse(words: &[String]) -> std::result::Result<Self, String> {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        let mut words = words.iter();
        while let Some(word) = words.next() {
            let name = word
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {word}\n{USAGE}"))?;
            let value = words
                .next()
                .ok_or_else(|| format!("--{name} needs a value"))?;
            map.entry(name.to_owned()).or_default().push(value.clone());
        }
        Ok(Self(map))
    }

    fn one(&self, name: &str) -> std::result::Result<&str, String> {
        match self.0.get(name).map(Vec::as_slice) {
            Some([value]) => Ok(value),
            Some(_) => Err(format!("--{name} given more than once")),
            None => Err(format!("--{name} is required\n{USAGE}")),
        }
    }

    fn all(&self, name: &str) -> &[String] {
        self.0.get(name).map(Vec::as_slice).unwrap_or_default()
    }

    fn number<T: std::str::FromStr>(&self, name: &str) -> std::result::Result<T, String> {
        let text = self.one(name)?;
        text.parse()
            .map_err(|_| format!("--{name}: not a number: {text}"))
    }

    fn binding(&self) -> std::result::Result<Binding, String> {
        Ok(Binding {
            record_id: self.number("record-id")?,
            version: self.number("version")?,
        })
    }
}

fn read_secret(path: &str) -> Result<StaticSecret> {
    medconsent_client::private::read_secret(Path::new(path))
}

fn public_key(text: &str) -> Result<PublicKey> {
    let bytes = parse_hex32(text).map_err(|e| Error::InvalidKey(format!("{text}: {e}")))?;
    Ok(PublicKey::from(bytes))
}

/// Prints progress on stderr for payloads over 4 MiB, when stderr is a terminal or
/// MEDCONSENT_PROGRESS is set.
fn progress_for(total: u64) -> impl FnMut(u64) {
    let show = total > 4 << 20
        && (std::io::stderr().is_terminal() || std::env::var_os("MEDCONSENT_PROGRESS").is_some());
    let mut last_percent = u64::MAX;
    move |done: u64| {
        if !show {
            return;
        }
        let percent = done.saturating_mul(100) / total.max(1);
        if percent != last_percent {
            last_percent = percent;
            eprint!("\r{percent:3}% ({} of {} MiB)", done >> 20, total >> 20);
            if done >= total {
                eprintln!();
            }
            let _ = std::io::stderr().flush();
        }
    }
}

fn run(words: &[String]) -> std::result::Result<(), String> {
    let (command, rest) = words.split_first().ok_or(USAGE)?;
    let args = Args::parse(rest)?;
    let fail = |e: Error| e.to_string();
    match command.as_str() {
        "keygen" => {
            let out = PathBuf::from(args.one("secret-out")?);
            let (secret, public) = wrap::keygen();
            medconsent_client::private::write_secret(&out, &secret).map_err(fail)?;
            println!("public_key=0x{}", hex::encode(public.as_bytes()));
        }
        "public-key" => {
            let secret = read_secret(args.one("secret")?).map_err(fail)?;
            println!(
                "public_key=0x{}",
                hex::encode(PublicKey::from(&secret).as_bytes())
            );
        }
        "seal" => {
            let input = args.one("in")?;
            let store = Store::new(args.one("store")?).map_err(fail)?;
            let recipients = args
                .all("to")
                .iter()
                .map(|text| public_key(text))
                .collect::<Result<Vec<_>>>()
                .map_err(fail)?;
            if recipients.is_empty() {
                return Err(
                    "--to is required: a key nobody holds would lock the record away".into(),
                );
            }
            let file = File::open(input).map_err(|e| format!("{input}: {e}"))?;
            let total = file.metadata().map(|m| m.len()).unwrap_or(0);
            let key = medconsent_client::seal::new_record_key();
            let stored = store
                .put(
                    BufReader::new(file),
                    &key,
                    args.binding()?,
                    &mut progress_for(total),
                )
                .map_err(fail)?;
            for recipient in &recipients {
                store
                    .grant_key(&stored.content_hash, &key, recipient)
                    .map_err(fail)?;
            }
            println!("content_hash=0x{}", hex::encode(stored.content_hash));
            println!("cid={}", stored.cid);
            println!("blob={}", stored.path.display());
        }
        "share" => {
            let store = Store::new(args.one("store")?).map_err(fail)?;
            let hash = hash_arg(&args)?;
            let secret = read_secret(args.one("secret")?).map_err(fail)?;
            let recipient = public_key(args.one("to")?).map_err(fail)?;
            let key = store.record_key(&hash, &secret).map_err(fail)?;
            let path = store.grant_key(&hash, &key, &recipient).map_err(fail)?;
            println!("wrapped_key={}", path.display());
        }
        "open" => {
            let store = Store::new(args.one("store")?).map_err(fail)?;
            let hash = hash_arg(&args)?;
            let secret = read_secret(args.one("secret")?).map_err(fail)?;
            let out = PathBuf::from(args.one("out")?);
            let total = fs::metadata(store.blob_path(&hash))
                .map(|m| m.len())
                .unwrap_or(0);
            store
                .open_to_file(
                    &hash,
                    &secret,
                    args.binding()?,
                    &out,
                    &mut progress_for(total),
                )
                .map_err(fail)?;
            println!("opened={}", out.display());
        }
        other => return Err(format!("unknown command {other}\n{USAGE}")),
    }
    Ok(())
}

fn hash_arg(args: &Args) -> std::result::Result<[u8; 32], String> {
    let text = args.one("hash")?;
    parse_hex32(text).map_err(|e| format!("--hash {text}: {e}"))
}

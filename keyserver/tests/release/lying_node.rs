//! A lying node: a WebSocket JSON-RPC proxy in front of the world's real node that passes
//! every message through, except the contract dry runs (`state_call ContractsApi_call`)
//! its `Lie` answers itself, with a well-formed result of the message's own type. What a
//! compromised node, or anyone on the link to it, can do.

use futures::{SinkExt, StreamExt};
use parity_scale_codec::{Compact, Decode, Encode};
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// Given the called contract and the message's input (selector then arguments), the
/// message's SCALE output (`Result<R, LangError>`) to answer with instead of the node's.
pub type Lie = Arc<dyn Fn(&[u8; 32], &[u8]) -> Option<Vec<u8>> + Send + Sync>;

pub struct LyingNode {
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LyingNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `ContractsApi_call`'s arguments, as the runtime API takes them.
#[derive(Decode)]
struct CallArgs {
    _origin: [u8; 32],
    dest: [u8; 32],
    _value: u128,
    _gas_limit: Option<(Compact<u64>, Compact<u64>)>,
    _storage_deposit_limit: Option<u128>,
    input: Vec<u8>,
}

impl LyingNode {
    pub async fn start(upstream: &str, lie: Lie) -> LyingNode {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let upstream = upstream.to_owned();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (upstream, lie) = (upstream.clone(), lie.clone());
                tokio::spawn(async move {
                    let _ = relay(socket, &upstream, lie).await;
                });
            }
        });
        LyingNode { url, task }
    }
}

async fn relay(
    socket: tokio::net::TcpStream,
    upstream: &str,
    lie: Lie,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let client = tokio_tungstenite::accept_async(socket).await?;
    let (node, _) = tokio_tungstenite::connect_async(upstream).await?;
    let (mut to_client, mut from_client) = client.split();
    let (mut to_node, mut from_node) = node.split();
    let (answers, mut outbox) = mpsc::unbounded_channel::<Message>();
    let writer = tokio::spawn(async move {
        while let Some(message) = outbox.recv().await {
            if to_client.send(message).await.is_err() {
                break;
            }
        }
    });
    let node_answers = answers.clone();
    let reader = tokio::spawn(async move {
        while let Some(Ok(message)) = from_node.next().await {
            if node_answers.send(message).is_err() {
                break;
            }
        }
    });
    while let Some(message) = from_client.next().await {
        let message = message?;
        if let Message::Text(text) = &message {
            if let Some(answer) = made_up(text, &lie) {
                answers.send(Message::Text(answer))?;
                continue;
            }
        }
        if message.is_close() {
            break;
        }
        to_node.send(message).await?;
    }
    reader.abort();
    writer.abort();
    Ok(())
}

/// The made-up answer to a request, if the lie covers it.
fn made_up(text: &str, lie: &Lie) -> Option<String> {
    let request: Value = serde_json::from_str(text).ok()?;
    if request["method"] != "state_call" || request["params"][0] != "ContractsApi_call" {
        return None;
    }
    let args = hex::decode(request["params"][1].as_str()?.trim_start_matches("0x")).ok()?;
    let args = CallArgs::decode(&mut &args[..]).ok()?;
    let output = lie(&args.dest, &args.input)?;
    let result = json!({
        "jsonrpc": "2.0",
        "id": request["id"],
        "result": format!("0x{}", hex::encode(contract_result(&output))),
    });
    Some(result.to_string())
}

/// A successful `ContractResult` returning `output`: gas consumed and required, no storage
/// deposit, no debug message, `Ok(flags 0, output)`, no events.
fn contract_result(output: &[u8]) -> Vec<u8> {
    let weight = (Compact(1_000_000_000u64), Compact(100_000u64));
    let mut bytes = Vec::new();
    weight.encode_to(&mut bytes);
    weight.encode_to(&mut bytes);
    1u8.encode_to(&mut bytes); // StorageDeposit::Charge
    0u128.encode_to(&mut bytes);
    Vec::<u8>::new().encode_to(&mut bytes);
    0u8.encode_to(&mut bytes); // Ok
    0u32.encode_to(&mut bytes); // flags: no revert
    output.to_vec().encode_to(&mut bytes);
    None::<Vec<u8>>.encode_to(&mut bytes);
    bytes
}

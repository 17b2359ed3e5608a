//! The documentation's shell blocks, run as written, so that a copy and
//! paste never fails.
//!
//! In `README.md` and `docs/*.md`, every ```` ```sh ```` block runs: a
//! document's blocks in order in one `bash` (variables carry over), in an
//! empty directory, with the built `passcode-server` first on `PATH` and no
//! `PASSCODE_*` variable of the caller's. A `# => TEXT` line after a command
//! is what the command prints (`...` stands for anything). A
//! ```` ```sh postgres ```` block runs against the test cluster (its
//! `127.0.0.1:5432` becomes the cluster's address). A block that cannot
//! run here is ```` ```sh ignore ```` and says why on its first line.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::binary::BIN;

#[derive(Debug)]
struct Block {
    kind: Kind,
    lines: Vec<String>,
    /// 1-based line of the opening fence.
    at: usize,
}

#[derive(Debug, PartialEq)]
enum Kind {
    Run,
    Postgres,
    Ignore,
}

fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (number, line) in text.lines().enumerate() {
        match &mut open {
            None => {
                let Some(info) = line.strip_prefix("```") else {
                    continue;
                };
                let kind = match info.trim() {
                    "sh" => Kind::Run,
                    "sh postgres" => Kind::Postgres,
                    "sh ignore" => Kind::Ignore,
                    other => {
                        assert!(
                            !other.starts_with("sh")
                                && !other.starts_with("bash")
                                && !other.starts_with("shell"),
                            "line {}: a shell block is `sh`, `sh postgres` or `sh ignore`: {other}",
                            number + 1
                        );
                        // Another language's block: skipped through.
                        open = Some(Block {
                            kind: Kind::Ignore,
                            lines: vec!["# not shell".into()],
                            at: 0,
                        });
                        continue;
                    }
                };
                open = Some(Block {
                    kind,
                    lines: Vec::new(),
                    at: number + 1,
                });
            }
            Some(block) => {
                if line.starts_with("```") {
                    let block = open.take().unwrap();
                    if block.at > 0 {
                        out.push(block);
                    }
                } else {
                    block.lines.push(line.to_owned());
                }
            }
        }
    }
    assert!(open.is_none(), "a code block is not closed");
    out
}

/// Whether `output` is `expected`, `...` standing for anything.
fn matches(expected: &str, output: &str) -> bool {
    let parts: Vec<&str> = expected.split("...").collect();
    if parts.len() == 1 {
        return expected == output;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !output.starts_with(first) || !output[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &output[first.len()..output.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

/// The script for a document's blocks, and each expectation: (the file the
/// command's output goes to, what it must be, where the command is).
fn script(
    name: &str,
    blocks: &[Block],
    postgres: Option<&str>,
) -> (String, Vec<(String, String, String)>) {
    let mut script =
        String::from("set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n");
    let mut expectations = Vec::new();
    for block in blocks {
        match block.kind {
            Kind::Ignore => {
                assert!(
                    block.lines.first().is_some_and(|l| l.starts_with("# ")),
                    "{name}:{}: an ignored block says why on its first line",
                    block.at
                );
                continue;
            }
            Kind::Postgres if postgres.is_none() => continue,
            _ => {}
        }
        // Logical commands: a line ending in `\` goes on.
        let mut commands: Vec<(String, Vec<String>, usize)> = Vec::new();
        let mut continuing = false;
        for (offset, line) in block.lines.iter().enumerate() {
            let line = match (&block.kind, postgres) {
                (Kind::Postgres, Some(address)) => line.replace("127.0.0.1:5432", address),
                _ => line.clone(),
            };
            if let Some(expected) = line.strip_prefix("# => ") {
                let Some(last) = commands.last_mut() else {
                    panic!(
                        "{name}:{}: `# =>` before any command",
                        block.at + 1 + offset
                    );
                };
                last.1.push(expected.to_owned());
                continue;
            }
            if continuing {
                let last = commands.last_mut().unwrap();
                last.0.push('\n');
                last.0.push_str(&line);
            } else {
                commands.push((line.clone(), Vec::new(), block.at + 1 + offset));
            }
            continuing = line.ends_with('\\');
        }
        for (command, expected, at) in commands {
            if expected.is_empty() {
                script.push_str(&command);
                script.push('\n');
            } else {
                let file = format!(".out.{}", expectations.len());
                script.push_str(&format!("{{ {command}\n}} > {file}\n"));
                expectations.push((file, expected.join("\n"), format!("{name}:{at}")));
            }
        }
    }
    (script, expectations)
}

fn run_document(path: &Path, postgres: Option<&str>) {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(path).unwrap();
    let blocks = blocks(&text);
    let (script, expectations) = script(&name, &blocks, postgres);
    if script.lines().count() <= 2 {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path_var = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("bash");
    command
        .args(["-c", &script])
        .current_dir(dir.path())
        .env("PATH", path_var)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, _) in std::env::vars() {
        if key.starts_with("PASSCODE_") {
            command.env_remove(key);
        }
    }
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let child = command.spawn().unwrap();
    // The script's own process group (`process_group(0)`): stopped whole
    // by its id, whatever the script left running. By the system call, not
    // the `kill` program, which reads `-PID` as options.
    let group = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    let stop_group = |signal| {
        let _ = rustix::process::kill_process_group(group, signal);
    };
    let output = std::thread::scope(|scope| {
        let waited = scope.spawn(move || child.wait_with_output());
        let deadline = Instant::now() + Duration::from_secs(180);
        while !waited.is_finished() {
            if Instant::now() > deadline {
                stop_group(rustix::process::Signal::KILL);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        waited.join().unwrap().unwrap()
    });
    stop_group(rustix::process::Signal::TERM);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{name}: the shell blocks failed ({})\n--- script\n{script}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    for (file, expected, at) in expectations {
        let printed = std::fs::read_to_string(dir.path().join(&file)).unwrap();
        assert!(
            matches(expected.trim(), printed.trim()),
            "{at}: printed\n{}\nwhere the document says\n{expected}",
            printed.trim()
        );
    }
}

fn documents() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut paths = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths
}

#[tokio::test]
async fn every_shell_block_in_the_docs_runs_as_written() {
    // The postgres blocks use the cluster: no restart meanwhile.
    let _shared = super::fleet::CLUSTER.read().await;
    let postgres = match super::support::postgres_url() {
        Some(url) => {
            // The blocks make a database named `passcode`: a fresh one.
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client
                .batch_execute("DROP DATABASE IF EXISTS passcode WITH (FORCE)")
                .await
                .unwrap();
            let authority = url.split('@').nth(1).unwrap().split('/').next().unwrap();
            Some(authority.to_owned())
        }
        None => None,
    };
    let documents = documents();
    assert!(documents.len() >= 8, "{documents:?}");
    for path in documents {
        let postgres = postgres.clone();
        tokio::task::spawn_blocking(move || run_document(&path, postgres.as_deref()))
            .await
            .unwrap();
    }
}

#[test]
fn the_runner_reads_blocks_and_expectations() {
    let text = "a\n```sh\nX=1 \\\n  && echo $X\n# => 1\n```\n```python\nprint(1)\n```\n```sh ignore\n# needs a phone\nsend\n```\n";
    let blocks = blocks(text);
    assert_eq!(blocks.len(), 2);
    let (script, expectations) = script("t", &blocks, None);
    assert!(
        script.contains("{ X=1 \\\n  && echo $X\n} > .out.0"),
        "{script}"
    );
    assert!(!script.contains("send"));
    assert_eq!(expectations.len(), 1);
    assert_eq!(expectations[0].1, "1");
    assert!(matches(
        "{\"a\":1,...,\"z\":2}",
        "{\"a\":1,\"b\":[],\"z\":2}"
    ));
    assert!(!matches("{\"a\":1,...,\"z\":2}", "{\"a\":2,\"z\":2}"));
    assert!(!matches("exact", "exactly"));
}

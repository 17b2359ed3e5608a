//! `passcode-server`: serve the Authy API, check a running server, manage
//! applications offline.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use passcode_server::cli::{AppArgs, AppCommand, Cli, Command, ImportFrom, KeyCommand, MigrateTo};
use passcode_server::config::{Database, ServeArgs, default_listen};
use passcode_server::domain;
use passcode_server::import::{import_one, integer, next_line};
use passcode_server::server;
use passcode_server::store::sqlite::Durability;
use passcode_server::store::{App, AppPatch, Imported, Store};
use serde::Serialize;

#[derive(Serialize)]
struct KeyOut<'a> {
    app_id: i64,
    api_key: &'a str,
}

#[derive(Serialize)]
struct CreatedOut<'a> {
    app_id: i64,
    api_key: &'a str,
    account_sid: &'a str,
    auth_token: &'a str,
}

#[derive(Serialize)]
struct AccountOut<'a> {
    app_id: i64,
    account_sid: &'a str,
    auth_token: &'a str,
}

#[derive(Serialize)]
struct AppOut<'a> {
    app_id: i64,
    name: &'a str,
    token_length: u8,
    sms: bool,
    calls: bool,
    phone_export: bool,
    generic_tokens: bool,
    custom_messages: bool,
    sandbox: bool,
}

impl<'a> From<&'a App> for AppOut<'a> {
    fn from(a: &'a App) -> Self {
        Self {
            app_id: a.id,
            name: &a.name,
            token_length: a.token_length,
            sms: a.sms_enabled,
            calls: a.calls_enabled,
            phone_export: a.phone_export_enabled,
            generic_tokens: a.generic_tokens_enabled,
            custom_messages: a.custom_messages_enabled,
            sandbox: a.sandbox,
        }
    }
}

/// The store an offline command works on and its application `app_id`.
async fn offline_app(database: Option<&str>, app_id: i64) -> Result<(Arc<dyn Store>, App), String> {
    let store = offline_store(database, false).await?;
    let app = store
        .app(app_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no application {app_id}"))?;
    Ok((store, app))
}

/// The database an offline command works on: never a new one unless
/// `init` (a mistyped path is an error, not an empty database).
async fn offline_store(database: Option<&str>, init: bool) -> Result<Arc<dyn Store>, String> {
    let database = Database::parse(database.unwrap_or(passcode_server::config::DEFAULT_DATABASE))?;
    if let Database::Sqlite(path) = &database
        && !init
        && !path.exists()
    {
        return Err(format!(
            "no database at {}: give the server's --database (or PASSCODE_DATABASE_URL; relative paths start in this directory), or create it with `passcode-server serve --database sqlite:{}` or with --init",
            path.display(),
            path.display()
        ));
    }
    server::open_store(&database, Durability::Full, 2).await
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

async fn app_command(args: AppArgs) -> Result<(), String> {
    let store = offline_store(args.database.as_deref(), args.init).await?;
    let now = unix_now();
    let print_key = |id: i64, key: &str| {
        if args.json {
            println!(
                "{}",
                serde_json::to_string(&KeyOut {
                    app_id: id,
                    api_key: key
                })
                .unwrap_or_default()
            );
        } else {
            println!("application {id}: API key {key}");
        }
    };
    let print_account = |id: i64, account: &domain::AccountToken| {
        if args.json {
            println!(
                "{}",
                serde_json::to_string(&AccountOut {
                    app_id: id,
                    account_sid: &account.sid,
                    auth_token: &account.token,
                })
                .unwrap_or_default()
            );
        } else {
            println!(
                "application {id}: account SID {} auth token {}",
                account.sid, account.token
            );
        }
    };
    match args.command {
        AppCommand::Create {
            name,
            api_key,
            token_length,
            sandbox,
        } => {
            let created =
                domain::create_tenant(store.as_ref(), name, api_key, token_length, sandbox, now)
                    .await
                    .map_err(|e| match e {
                        domain::Error::Invalid { reason, .. } => format!("--api-key {reason}"),
                        domain::Error::Conflict(_) => {
                            "another application already has this API key".into()
                        }
                        e => e.to_string(),
                    })?;
            let (app, key, account) = (&created.app, &created.api_key, &created.account);
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string(&CreatedOut {
                        app_id: app.id,
                        api_key: key,
                        account_sid: &account.sid,
                        auth_token: &account.token,
                    })
                    .unwrap_or_default()
                );
            } else {
                print_key(app.id, key);
                print_account(app.id, account);
            }
        }
        AppCommand::List => {
            let apps = domain::tenants(store.as_ref())
                .await
                .map_err(|e| e.to_string())?;
            if args.json {
                let out: Vec<AppOut<'_>> = apps.iter().map(AppOut::from).collect();
                println!("{}", serde_json::to_string(&out).unwrap_or_default());
            } else {
                for a in &apps {
                    println!(
                        "{:>4}  {:<24} tokens:{} sms:{} calls:{} phone-export:{} generic-tokens:{} sandbox:{}",
                        a.id,
                        a.name,
                        a.token_length,
                        a.sms_enabled,
                        a.calls_enabled,
                        a.phone_export_enabled,
                        a.generic_tokens_enabled,
                        a.sandbox
                    );
                }
            }
        }
        AppCommand::Set {
            id,
            name,
            token_length,
            sms,
            calls,
            phone_export,
            generic_tokens,
            custom_messages,
            sandbox,
            force,
        } => {
            let patch = AppPatch {
                name,
                token_length,
                sms_enabled: sms.map(bool::from),
                calls_enabled: calls.map(bool::from),
                phone_export_enabled: phone_export.map(bool::from),
                generic_tokens_enabled: generic_tokens.map(bool::from),
                custom_messages_enabled: custom_messages.map(bool::from),
                sandbox: sandbox.map(bool::from),
            };
            let app = domain::change_tenant(store.as_ref(), id, patch, force)
                .await
                .map_err(|e| match e {
                    domain::Error::HasUsers(users) => format!(
                        "application {id} has {users} users: in the sandbox `0000000` verifies every one of them and nothing is delivered; add --force to do it anyway"
                    ),
                    domain::Error::NotFound => format!("no application {id}"),
                    e => e.to_string(),
                })?;
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string(&AppOut::from(&app)).unwrap_or_default()
                );
            } else {
                println!("application {id} updated");
            }
        }
        AppCommand::RotateKey { id } => {
            let key = domain::rotate_api_key(store.as_ref(), id)
                .await
                .map_err(|e| match e {
                    domain::Error::NotFound => format!("no application {id}"),
                    e => e.to_string(),
                })?;
            print_key(id, &key);
        }
        AppCommand::Key { command } => match command {
            KeyCommand::Create { id, name } => {
                let key = domain::create_api_key(store.as_ref(), id, &name, now)
                    .await
                    .map_err(|e| match e {
                        domain::Error::NotFound => {
                            format!("application {id} has no account: run app rotate-token {id}")
                        }
                        e => passcode_server::error::ApiError::from(e).message(),
                    })?;
                if args.json {
                    println!(
                        "{}",
                        serde_json::json!({"app_id": id, "sid": key.sid, "secret": key.secret})
                    );
                } else {
                    println!(
                        "application {id}: API key {} secret {}",
                        key.sid, key.secret
                    );
                }
            }
            KeyCommand::List { id } => {
                let keys = store.api_keys(id).await.map_err(|e| e.to_string())?;
                for key in keys {
                    if args.json {
                        println!(
                            "{}",
                            serde_json::json!({"app_id": id, "sid": key.sid, "friendly_name": key.friendly_name, "created_at": key.created_at})
                        );
                    } else {
                        println!(
                            "{} {:?} created {}",
                            key.sid, key.friendly_name, key.created_at
                        );
                    }
                }
            }
            KeyCommand::Delete { id, sid } => {
                if !store
                    .delete_api_key(id, &sid)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    return Err(format!("application {id} has no API key {sid}"));
                }
                println!("API key {sid} deleted");
            }
        },
        AppCommand::RotateToken { id } => {
            let account = domain::rotate_token(store.as_ref(), id)
                .await
                .map_err(|e| match e {
                    domain::Error::NotFound => format!("no application {id}"),
                    e => passcode_server::error::ApiError::from(e).message(),
                })?;
            print_account(id, &account);
        }
        AppCommand::Delete { id, yes } => {
            let no_app = |e: domain::Error| match e {
                domain::Error::NotFound => format!("no application {id}"),
                e => e.to_string(),
            };
            if !yes {
                let (app, users) = domain::tenant(store.as_ref(), id).await.map_err(no_app)?;
                return Err(format!(
                    "this deletes application {id} ({:?}) with its {users} users and their authenticators, for good: add --yes to do it",
                    app.name
                ));
            }
            domain::delete_tenant(store.as_ref(), id)
                .await
                .map_err(no_app)?;
            if args.json {
                println!("{{\"app_id\":{id},\"deleted\":true}}");
            } else {
                println!("application {id} deleted");
            }
        }
    }
    Ok(())
}

/// `completions` and `manual`: what the clap definitions say, printed.
fn print_help_files(command: &Command) -> Option<std::io::Result<()>> {
    use clap::CommandFactory;
    let mut out = std::io::stdout().lock();
    match command {
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "passcode-server", &mut out);
            Some(Ok(()))
        }
        Command::Manual => Some(clap_mangen::Man::new(Cli::command()).render(&mut out)),
        _ => None,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(printed) = cli.command.as_ref().and_then(print_help_files) {
        return match printed {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !matches!(cli.command, None | Some(Command::Serve(_))) {
        server::init_logging_at(passcode_server::config::LogFormat::Text, "warn");
    }
    let result = runtime.block_on(async move {
        match cli.command {
            None => run_serve(&cli.serve).await,
            Some(Command::Serve(args)) => run_serve(&args).await,
            Some(Command::Healthcheck { listen, tls_cert }) => {
                if server::healthcheck(listen.unwrap_or_else(default_listen), tls_cert.as_deref())
                    .await?
                {
                    Ok(())
                } else {
                    Err("no healthy server answered".into())
                }
            }
            Some(Command::App(args)) => app_command(args).await,
            Some(Command::Import {
                from:
                    ImportFrom::Authy {
                        app,
                        from,
                        from_api,
                        api_key_file,
                        ids,
                        per_minute,
                        database,
                    },
            }) => match (from, from_api, api_key_file, ids) {
                (Some(from), _, _, _) => import_authy(database.as_deref(), app, &from).await,
                (None, Some(url), Some(key_file), Some(ids)) => {
                    import_authy_api(database.as_deref(), app, url, &key_file, &ids, per_minute)
                        .await
                }
                _ => Err("give --from FILE, or --from-api URL with --api-key-file and --ids".into()),
            },
            Some(Command::Migrate {
                to:
                    MigrateTo::AuthyToVerify {
                        app,
                        service,
                        database,
                    },
            }) => migrate_authy_to_verify(database.as_deref(), app, &service).await,
            Some(Command::Backup { database, to }) => {
                let from = sqlite_path(database.as_deref())?;
                passcode_server::store::sqlite::backup(&from, &to)?;
                println!(
                    "{} copied to {} (integrity check: ok)",
                    from.display(),
                    to.display()
                );
                Ok(())
            }
            Some(Command::Restore {
                database,
                from,
                yes,
            }) => {
                let to = sqlite_path(database.as_deref())?;
                if !yes {
                    return Err(format!(
                        "this replaces {} with {}: stop the server first (codes accepted after the backup was taken could be accepted again), then add --yes",
                        to.display(),
                        from.display()
                    ));
                }
                passcode_server::store::sqlite::restore(&from, &to)?;
                println!("{} restored from {}", to.display(), from.display());
                Ok(())
            }
            // Printed before the runtime started.
            Some(Command::Completions { .. } | Command::Manual) => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// One line of an Authy export.
#[derive(serde::Deserialize)]
struct ExportedUser {
    authy_id: serde_json::Value,
    country_code: serde_json::Value,
    phone_number: String,
    #[serde(default)]
    email: Option<String>,
}

/// `import authy`: each line's user created with its Authy id. Refused
/// lines are reported by number and id (never by phone number) and make the
/// exit status 1 once every line is read.
async fn migrate_authy_to_verify(
    database: Option<&str>,
    app_id: i64,
    service: &str,
) -> Result<(), String> {
    let (store, app) = offline_app(database, app_id).await?;
    let service = domain::verify_service(store.as_ref(), app.id, service)
        .await
        .map_err(|_| format!("application {app_id} has no Verify service {service}"))?;
    let done = domain::migrate_authy_to_verify(
        store.as_ref(),
        &app,
        &service,
        u64::try_from(unix_now()).unwrap_or(0),
        |so_far| {
            eprintln!("{} authenticators done", so_far.created + so_far.present);
        },
    )
    .await
    .map_err(|e| passcode_server::error::ApiError::from(e).message())?;
    println!(
        "factors created {}, already there {}",
        done.created, done.present
    );
    Ok(())
}

async fn import_authy(database: Option<&str>, app_id: i64, from: &Path) -> Result<(), String> {
    let (store, app) = offline_app(database, app_id).await?;
    let file = std::fs::File::open(from).map_err(|e| format!("{}: {e}", from.display()))?;
    let now = unix_now();
    let (mut created, mut present, mut refused) = (0u64, 0u64, 0u64);
    let mut reader = std::io::BufReader::new(file);
    let mut number = 0;
    while let Some(line) = next_line(&mut reader).map_err(|e| format!("{}: {e}", from.display()))? {
        number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let outcome = async {
            // serde_json's message can quote the value it refused (a phone
            // number): the line's column and the kind of fault only.
            let user: ExportedUser = serde_json::from_slice(&line)
                .map_err(|e| format!("not a user: {:?} at column {}", e.classify(), e.column()))?;
            let id = integer(&user.authy_id).ok_or("authy_id is not a user id")?;
            import_one(
                store.as_ref(),
                &app,
                id,
                &user.country_code,
                &user.phone_number,
                user.email.as_deref().unwrap_or_default(),
                now,
            )
            .await
        }
        .await;
        match outcome {
            Ok(Imported::Created) => created += 1,
            Ok(_) => present += 1,
            Err(why) => {
                refused += 1;
                eprintln!("line {number}: {why}");
            }
        }
        if number % 1_000 == 0 {
            eprintln!("{number} lines read");
        }
    }
    println!("imported {created}, already there {present}, refused {refused}");
    if refused > 0 {
        return Err(format!("{refused} lines were not imported (see above)"));
    }
    Ok(())
}

/// `import authy --from-api`: each id fetched from the source's export
/// and created here with its id; refused ids are reported and make the exit
/// status 1 once every id is tried.
async fn import_authy_api(
    database: Option<&str>,
    app_id: i64,
    base_url: String,
    key_file: &Path,
    ids: &Path,
    per_minute: u32,
) -> Result<(), String> {
    if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
        return Err("--from-api: give the API's base URL, https://...".into());
    }
    let api_key = std::fs::read_to_string(key_file)
        .map_err(|e| format!("{}: {e}", key_file.display()))?
        .trim()
        .to_owned();
    if api_key.is_empty() {
        return Err(format!("{}: no API key in it", key_file.display()));
    }
    let (store, app) = offline_app(database, app_id).await?;
    let source = passcode_server::import::Source {
        base_url,
        api_key: passcode_server::redacted::Redacted::new(api_key),
        per_minute: per_minute.max(1),
        longest_wait: std::time::Duration::from_secs(300),
    };
    let tally =
        passcode_server::import::from_api(store.as_ref(), &app, &source, ids, unix_now(), |line| {
            eprintln!("{line}")
        })
        .await?;
    println!(
        "imported {}, already there {}, refused {}",
        tally.created, tally.present, tally.refused
    );
    if tally.refused > 0 {
        return Err(format!(
            "{} ids were not imported (see above); a re-run fetches them again, each spending one of its exports: fix the cause or take them out of --ids first",
            tally.refused
        ));
    }
    Ok(())
}

/// The SQLite file a `--database` names; PostgreSQL has its own tools.
fn sqlite_path(database: Option<&str>) -> Result<PathBuf, String> {
    match Database::parse(database.unwrap_or(passcode_server::config::DEFAULT_DATABASE))? {
        Database::Sqlite(path) => Ok(path),
        Database::Postgres(_) => Err(
            "backups of PostgreSQL are PostgreSQL's: pg_dump --format=custom (and pg_restore)"
                .into(),
        ),
    }
}

async fn run_serve(args: &ServeArgs) -> Result<(), String> {
    let settings = args.resolve()?;
    server::init_logging(settings.log_format);
    server::serve(settings).await
}

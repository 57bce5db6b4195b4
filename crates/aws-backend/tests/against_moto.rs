//! The control-plane flow against an implementation we did not write: moto's server mode
//! (pinned in target/venv-moto by `.ci/run`). moto changes configurations and reports
//! `LastUpdateStatus` as Lambda does, but its `Invoke` needs Docker, so the invoke fails
//! here — after the forced change, which is exactly the state a crashed run leaves:
//! the journal must put the function back, through the SDK's waiter, against moto.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_backend::ColdStarts;
use aws_backend::journal::Journal;

fn venv_python() -> PathBuf {
    // target/debug/deps/<test binary>
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || {
            std::env::current_exe()
                .unwrap()
                .ancestors()
                .nth(3)
                .unwrap()
                .to_path_buf()
        },
        PathBuf::from,
    );
    // Made by `.ci/run`, or here on a machine that has not run it (under a lock).
    let venv = target.join("venv-moto");
    let python = venv.join("bin/python");
    let lock = std::fs::File::create(target.join("venv-moto.lock")).unwrap();
    lock.lock().unwrap();
    let ready = |python: &PathBuf| {
        Command::new(python)
            .args(["-c", "import moto.server"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ready(&python) {
        let made = Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new(venv.join("bin/pip"))
                .args([
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "moto[server]==5.2.5",
                ])
                .status()
                .is_ok_and(|s| s.success());
        assert!(
            made && ready(&python),
            "could not install moto[server]==5.2.5 into {} (needs PyPI; .ci/run does the same)",
            venv.display()
        );
    }
    python
}

struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// moto on a free port, with an IAM role and a function `f` (KEEP=1, 128 MB, in a VPC)
/// made by boto3; returns the role's ARN too.
fn moto() -> (Moto, String, String) {
    let python = venv_python();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(python.parent().unwrap().join("moto_server"))
        .args(["-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server starts");
    let moto = Moto(child);
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let setup = Command::new(&python)
        .args([
            "-c",
            r#"
import boto3, io, json, sys, zipfile
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
role = boto3.client("iam", **kw).create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
package = io.BytesIO()
with zipfile.ZipFile(package, "w") as z:
    z.writestr("h.py", "def handle(event, context):\n    return 1\n")
boto3.client("lambda", **kw).create_function(FunctionName="f", Runtime="python3.11", Role=role,
    Handler="h.handle", Code={"ZipFile": package.getvalue()}, MemorySize=128,
    Environment={"Variables": {"KEEP": "1"}},
    VpcConfig={"SubnetIds": ["subnet-0a1b"], "SecurityGroupIds": ["sg-0c2d"]})
print(role)
"#,
            &url,
        ])
        .output()
        .unwrap();
    assert!(setup.status.success(), "{}", String::from_utf8_lossy(&setup.stderr));
    let role = String::from_utf8(setup.stdout).unwrap().trim().to_owned();
    (moto, url, role)
}

fn client(url: &str) -> aws_sdk_lambda::Client {
    aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::Config::builder()
            .endpoint_url(url)
            .region(aws_sdk_lambda::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_lambda::config::Credentials::new("a", "b", None, None, "test"))
            .behavior_version_latest()
            .build(),
    )
}

async fn configuration(client: &aws_sdk_lambda::Client) -> (HashMap<String, String>, i32) {
    let config = client
        .get_function_configuration()
        .function_name("f")
        .send()
        .await
        .unwrap();
    (
        config
            .environment()
            .and_then(|e| e.variables())
            .cloned()
            .unwrap_or_default(),
        config.memory_size().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_sees_the_forced_change_and_the_journal_restores_it() {
    let (_moto, url, _) = moto();
    let client = client(&url);
    let before = configuration(&client).await;
    assert_eq!(before.0.get("KEEP").map(String::as_str), Some("1"));
    let journals = tempfile::tempdir().unwrap();
    let mut runs = ColdStarts::prepare(client.clone(), "f", journals.path()).await.unwrap();
    assert_eq!(runs.original().memory_mb, 128);
    // moto's Invoke cannot run without Docker: no REPORT comes back, an error naming why.
    let err = runs.cold_start_at(0, "{}", Some(512)).await.unwrap_err().to_string();
    assert!(err.contains("no REPORT line"), "{err}");
    let (during, memory) = configuration(&client).await;
    assert!(during.contains_key(aws_backend::COLD_START_VARIABLE), "{during:?}");
    assert_eq!(
        (during.get("KEEP").map(String::as_str), memory),
        (Some("1"), 512),
        "the rest of the map is kept"
    );
    // As if the run died here.
    std::mem::forget(runs);
    assert_eq!(Journal::all_in(journals.path()).unwrap().len(), 1);
    let cleanup = aws_backend::restore_journals(&client, journals.path()).await.unwrap();
    assert_eq!(cleanup.restored, ["f"]);
    assert_eq!(configuration(&client).await, before);
    assert!(Journal::all_in(journals.path()).unwrap().is_empty());
}

/// `--deploy-control` against moto: the control is created with the subject's VPC
/// settings, runtime and memory and the given role, and a run killed with it in place
/// leaves a journal that deletes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_creates_the_control_in_the_subjects_vpc_and_the_journal_deletes_it() {
    use aws_backend::deploy::{Created, RunId, Subject};
    let (_moto, url, role) = moto();
    let client = client(&url);
    let journals = tempfile::tempdir().unwrap();
    let subject = Subject::describe(&client, "f").await.unwrap();
    let plan = subject.control(&role, &RunId::new()).unwrap();
    let control = Created::create(client.clone(), &plan, journals.path()).await.unwrap();
    let config = client
        .get_function_configuration()
        .function_name(control.name())
        .send()
        .await
        .unwrap();
    let vpc = config.vpc_config().expect("the subject's VPC settings");
    assert_eq!(vpc.subnet_ids(), ["subnet-0a1b"]);
    assert_eq!(vpc.security_group_ids(), ["sg-0c2d"]);
    assert_eq!(
        config.runtime().map(aws_sdk_lambda::types::Runtime::as_str),
        Some("python3.11")
    );
    assert_eq!(config.memory_size(), Some(128));
    assert_eq!(config.role(), Some(role.as_str()));
    // As if the run died here.
    std::mem::forget(control);
    assert_eq!(Journal::creations_in(journals.path()).unwrap().len(), 1);
    let cleanup = aws_backend::restore_journals(&client, journals.path()).await.unwrap();
    assert_eq!(cleanup.deleted, [plan.name()]);
    let gone = client
        .get_function_configuration()
        .function_name(plan.name())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_lambda::error::ProvideErrorMetadata::code(&gone),
        Some("ResourceNotFoundException")
    );
    assert!(Journal::creations_in(journals.path()).unwrap().is_empty());
    // The subject itself is untouched.
    assert_eq!(configuration(&client).await.1, 128);
}

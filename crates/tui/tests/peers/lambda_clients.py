"""boto3 and the AWS CLI against `coldfront serve`, as a Lambda user would drive Lambda.

Usage: lambda_clients.py ENDPOINT WORKDIR

Every check is an assert with the evidence in its message; the script prints one JSON
object of what it saw and exits 0 only when everything held.
"""

import base64
import io
import json
import os
import subprocess
import sys
import time
import zipfile

import boto3
import botocore.config
import botocore.exceptions

ENDPOINT, WORKDIR = sys.argv[1], sys.argv[2]
REGION = "us-east-1"
os.environ.update(
    AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
    AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    AWS_DEFAULT_REGION=REGION,
)
config = botocore.config.Config(retries={"max_attempts": 1}, read_timeout=60)
lam = boto3.client("lambda", endpoint_url=ENDPOINT, region_name=REGION, config=config)
xray = boto3.client("xray", endpoint_url=ENDPOINT, region_name=REGION, config=config)
seen = {}

HANDLER = '''
import json, os, time

def handle(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    print("handling", json.dumps(event))
    return {"pid": os.getpid(), "mark": os.environ.get("MARK"), "event": event,
            "version": context.function_version}
'''


def package(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buffer.getvalue()


def error_code(call):
    try:
        call()
    except botocore.exceptions.ClientError as err:
        return err.response["Error"]["Code"], err.response["Error"].get("Message", "")
    raise AssertionError("the call succeeded but an error was expected")


def invoke(**kwargs):
    response = lam.invoke(LogType="Tail", **kwargs)
    log = base64.b64decode(response["LogResult"]).decode()
    payload = json.loads(response["Payload"].read())
    report = [line for line in log.splitlines() if line.startswith("REPORT ")]
    assert report, f"no REPORT line in the Tail log: {log!r}"
    return response, payload, log, report[-1]


started = time.time()

# Create from a zip and wait with boto3's own waiter.
created = lam.create_function(
    FunctionName="peer",
    Runtime="python3.11",
    Role="arn:aws:iam::000000000000:role/peer",
    Handler="handler.handle",
    Code={"ZipFile": package({"handler.py": HANDLER})},
    Timeout=10,
    MemorySize=256,
    TracingConfig={"Mode": "Active"},
)
assert created["State"] in ("Pending", "Active"), created
assert created["CodeSha256"] and created["CodeSize"] > 0, created
lam.get_waiter("function_active_v2").wait(FunctionName="peer")

# Cold, then warm in the same environment.
response, first, log, report = invoke(FunctionName="peer", Payload=b'{"n": 1}')
assert response["StatusCode"] == 200 and "FunctionError" not in response, response
assert "Init Duration:" in report, f"the cold invoke's REPORT has no Init Duration: {report}"
assert log.startswith("START RequestId:"), log
assert 'handling {"n": 1}' in log, f"the function's output is missing from the Tail log: {log!r}"
seen["cold_report"] = report
_, second, _, report = invoke(FunctionName="peer", Payload=b'{"n": 2}')
assert "Init Duration" not in report, f"a warm invoke reported INIT: {report}"
assert second["pid"] == first["pid"], (first, second)

# A configuration change: InProgress, a second change refused, the waiter, then cold.
updated = lam.update_function_configuration(FunctionName="peer", Environment={"Variables": {"MARK": "two"}})
assert updated["LastUpdateStatus"] == "InProgress", updated
code, message = error_code(lambda: lam.update_function_configuration(FunctionName="peer", MemorySize=512))
assert code == "ResourceConflictException", (code, message)
lam.get_waiter("function_updated_v2").wait(FunctionName="peer")
assert lam.get_function_configuration(FunctionName="peer")["LastUpdateStatus"] == "Successful"
_, third, _, report = invoke(FunctionName="peer", Payload=b"{}")
assert "Init Duration:" in report, f"the invoke after a change was not cold: {report}"
assert third["pid"] != first["pid"] and third["mark"] == "two", third

# A function error.
response, payload, _, _ = invoke(FunctionName="peer", Payload=b'{"fail": true}')
assert response["FunctionError"] == "Unhandled", response
assert payload["errorType"] == "ValueError" and payload["errorMessage"] == "asked to fail", payload

# Versions and qualified invokes.
version = lam.publish_version(FunctionName="peer")
assert version["Version"] == "1", version
response, payload, _, _ = invoke(FunctionName="peer", Qualifier="1", Payload=b"{}")
assert response["ExecutedVersion"] == "1" and payload["version"] == "1", (response, payload)

# Bad input, each in the AWS error shape.
assert error_code(lambda: lam.invoke(FunctionName="nope", Payload=b"{}"))[0] == "ResourceNotFoundException"
assert error_code(lambda: lam.get_function(FunctionName="nope"))[0] == "ResourceNotFoundException"
assert error_code(lambda: lam.invoke(FunctionName="peer", Payload=b"{not json"))[0] == "InvalidRequestContentException"
big = b'{"x": "' + b"a" * (6 * 1024 * 1024) + b'"}'
assert error_code(lambda: lam.invoke(FunctionName="peer", Payload=big))[0] == "RequestTooLargeException"
evil = package({"handler.py": HANDLER, "../escaped.py": "x = 1"})
code, message = error_code(
    lambda: lam.create_function(
        FunctionName="evil", Runtime="python3.11", Role="arn:aws:iam::000000000000:role/x",
        Handler="handler.handle", Code={"ZipFile": evil},
    )
)
assert code == "InvalidParameterValueException" and "outside" in message, (code, message)
assert error_code(lambda: lam.get_function(FunctionName="evil"))[0] == "ResourceNotFoundException"

names = {f["FunctionName"] for f in lam.list_functions()["Functions"]}
assert {"peer", "control", "wiki"} <= names, names

# X-Ray: Lambda's segments for the cold invokes, through boto3's xray client.
summaries = xray.get_trace_summaries(StartTime=started - 5, EndTime=time.time() + 5)["TraceSummaries"]
ids = [s["Id"] for s in summaries]
assert len(ids) >= 5, summaries
traces = xray.batch_get_traces(TraceIds=ids)["Traces"]
subsegments = {}
for trace in traces:
    for segment in trace["Segments"]:
        document = json.loads(segment["Document"])
        if document.get("origin") == "AWS::Lambda::Function":
            for sub in document.get("subsegments", []):
                subsegments[sub["name"]] = subsegments.get(sub["name"], 0) + 1
assert subsegments.get("Initialization", 0) >= 2, subsegments
assert subsegments.get("Invocation", 0) >= 5 and subsegments.get("Overhead", 0) >= 5, subsegments
seen["xray_subsegments"] = subsegments

# The AWS CLI: invoke with a Tail log, change the configuration, its waiter, cold again.
def aws(*args):
    result = subprocess.run(
        ["aws", "--endpoint-url", ENDPOINT, "--region", REGION, "--output", "json", "lambda", *args],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, f"aws {' '.join(args)}: {result.stderr}"
    return json.loads(result.stdout) if result.stdout.strip() else None

out = os.path.join(WORKDIR, "cli-out.json")
cli = aws("invoke", "--function-name", "control", "--log-type", "Tail", "--payload", "{}", out)
cli_log = base64.b64decode(cli["LogResult"]).decode()
assert cli["StatusCode"] == 200 and "Init Duration:" in cli_log, cli_log
aws("update-function-configuration", "--function-name", "control", "--memory-size", "256")
aws("wait", "function-updated-v2", "--function-name", "control")
cli = aws("invoke", "--function-name", "control", "--log-type", "Tail", "--payload", "{}", out)
cli_log = base64.b64decode(cli["LogResult"]).decode()
assert "Init Duration:" in cli_log and "Memory Size: 256 MB" in cli_log, cli_log
seen["cli_report"] = [line for line in cli_log.splitlines() if line.startswith("REPORT")][0]

print(json.dumps({"ok": True, **seen}))

"""template.yaml is deployable as it stands: it lints clean, SAM transforms it offline, and the
transformed template wires the hooks the way CodeDeploy needs them.

The transform runs with no AWS call: a fixed region, fake credentials, and a managed-policy loader
that fails the test if SAM ever needs IAM to resolve a policy name.
"""

from __future__ import annotations

import ast
import copy
import fnmatch
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import boto3
import networkx
import pytest
from cfnlint.api import ManualArgs, decode_str, lint_file
from cfnlint.template import Template
from moto.iam.aws_managed_policies import aws_managed_policies_data
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from hookkit.core.phases import Phase

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
REGION = "eu-west-1"
HOOKS = {"OrdersPreTrafficHook": Phase.BEFORE_ALLOW_TRAFFIC, "OrdersPostTrafficHook": Phase.AFTER_ALLOW_TRAFFIC}
READ_ONLY_PREFIXES = ("Get", "List", "BatchGet", "Describe")
# AWS-managed policies SAM attaches to every function role: logs (basic execution) and X-Ray
# (Tracing: Active). X-Ray's PutTraceSegments supports no resource-level permission at all.
SAM_MANAGED_POLICIES = [
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
]


def load_source() -> dict[str, Any]:
    template, errors = decode_str(TEMPLATE.read_text())
    assert not errors, errors
    return json.loads(json.dumps(template))


def _no_iam() -> dict[str, str]:
    """SAM asks IAM only for a managed policy name missing from the map it bundles."""
    raise AssertionError("the SAM transform asked IAM for managed policies: name that policy by ARN")


def transform(source: dict[str, Any]) -> dict[str, Any]:
    """What `sam package` then CloudFormation's transform would produce, computed offline."""
    source = copy.deepcopy(source)
    for resource in source["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):  # sam package uploads local folders to S3
                properties[key] = f"s3://artifacts-bucket/{properties[key]}"
    translator = Translator(
        managed_policy_map=None, sam_parser=Parser(), boto_session=boto3.session.Session(region_name=REGION)
    )
    return translator.translate(source, parameter_values={}, get_managed_policy_map=_no_iam)


@pytest.fixture(scope="module", autouse=True)
def offline_aws():
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_SESSION_TOKEN", "testing")
        env.setenv("AWS_DEFAULT_REGION", REGION)
        env.setenv("AWS_REGION", REGION)
        yield


@pytest.fixture(scope="module")
def source() -> dict[str, Any]:
    return load_source()


@pytest.fixture(scope="module")
def cfn(source) -> dict[str, Any]:
    return transform(source)


@pytest.fixture(scope="module")
def resources(cfn) -> dict[str, Any]:
    return cfn["Resources"]


def of_type(resources: dict[str, Any], type_: str) -> dict[str, Any]:
    return {name: r for name, r in resources.items() if r["Type"] == type_}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements_of(role: dict[str, Any], resources: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement a role's own policies grant: inline ones and this template's managed ones."""
    properties = role["Properties"]
    documents = [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
    for arn in properties.get("ManagedPolicyArns", []):
        if isinstance(arn, dict):
            documents.append(resources[arn["Ref"]]["Properties"]["PolicyDocument"])
    return [statement for document in documents for statement in as_list(document["Statement"])]


def writes_on_star(statements: list[dict[str, Any]]) -> list[str]:
    """Actions other than Get*/List*/BatchGet*/Describe* granted on every resource."""
    found = []
    for statement in statements:
        if statement.get("Effect") != "Allow" or "*" not in as_list(statement.get("Resource")):
            continue
        for action in as_list(statement["Action"]):
            verb = action.split(":", 1)[-1]
            if not verb.startswith(READ_ONLY_PREFIXES) or "*" in action:
                found.append(action)
    return found


def granted(statements: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Each action granted, with every resource it is granted on (one action may have several)."""
    found: dict[str, list[Any]] = {}
    for statement in statements:
        for action in as_list(statement["Action"]):
            found.setdefault(action, []).extend(as_list(statement["Resource"]))
    return found


def cycles(cfn: dict[str, Any]) -> list[list[str]]:
    graph = Template("template.json", cfn, [REGION]).graph.graph
    return sorted(sorted(cycle) for cycle in networkx.simple_cycles(graph))


# --- lint ------------------------------------------------------------------------------------


def test_cfn_lint_reports_nothing():
    matches = lint_file(TEMPLATE, config=ManualArgs(regions=["us-east-1", REGION]))
    assert [str(match) for match in matches] == []


# --- the release: alias, deployment group, alarm ---------------------------------------------


def test_the_live_alias_update_names_both_hooks(resources):
    aliases = of_type(resources, "AWS::Lambda::Alias")
    assert list(aliases) == ["OrdersFunctionAliaslive"]
    assert aliases["OrdersFunctionAliaslive"]["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"] == {
        "ApplicationName": {"Ref": "ServerlessDeploymentApplication"},
        "DeploymentGroupName": {"Ref": "OrdersFunctionDeploymentGroup"},
        "BeforeAllowTrafficHook": {"Ref": "OrdersPreTrafficHook"},
        "AfterAllowTrafficHook": {"Ref": "OrdersPostTrafficHook"},
    }


def test_the_release_is_a_canary_rolled_back_by_the_alias_errors_alarm(resources):
    groups = of_type(resources, "AWS::CodeDeploy::DeploymentGroup")
    assert list(groups) == ["OrdersFunctionDeploymentGroup"]
    group = groups["OrdersFunctionDeploymentGroup"]["Properties"]
    assert group["DeploymentConfigName"] == {
        "Fn::Sub": ["CodeDeployDefault.Lambda${ConfigName}", {"ConfigName": "Canary10Percent5Minutes"}]
    }
    assert group["AlarmConfiguration"] == {"Enabled": True, "Alarms": [{"Name": {"Ref": "OrdersAliasErrorsAlarm"}}]}
    alarm = resources["OrdersAliasErrorsAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", "Errors")
    assert alarm["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": "OrdersFunction"}},
        {"Name": "Resource", "Value": {"Fn::Sub": "${OrdersFunction}:live"}},
    ]


def test_the_api_calls_the_alias_and_its_url_is_the_api_url_output(cfn, resources):
    body = resources["ServerlessRestApi"]["Properties"]["Body"]
    routes = {
        (method.upper(), path): operation["x-amazon-apigateway-integration"]["uri"]
        for path, methods in body["paths"].items()
        for method, operation in methods.items()
    }
    alias_uri = {
        "Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
        "${OrdersFunctionAliaslive}/invocations"
    }
    assert routes == {
        ("POST", "/orders"): alias_uri,
        ("GET", "/orders/{orderId}"): alias_uri,
        ("POST", "/orders/{orderId}/cancel"): alias_uri,
    }
    assert cfn["Outputs"]["ApiUrl"]["Value"] == {
        "Fn::Sub": "https://${ServerlessRestApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/Prod"
    }


def test_every_recorded_api_event_is_a_route_of_the_function(source):
    events = source["Resources"]["OrdersFunction"]["Properties"]["Events"].values()
    routes = {(e["Properties"]["Method"].upper(), e["Properties"]["Path"]) for e in events if e["Type"] == "Api"}
    recorded = sorted((ROOT / "example_hooks/orders/hooks/events/api").glob("*.json"))
    assert len(recorded) == 4
    for path in recorded:
        event = json.loads(path.read_text())
        assert (event["httpMethod"], event["resource"]) in routes, path.name


# --- the hooks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_hook_names_carry_the_prefix_codedeploy_may_invoke(hook, resources):
    name_template, variables = resources[hook]["Properties"]["FunctionName"]["Fn::Sub"]
    assert name_template.startswith("CodeDeployHook_")
    assert set(variables) == {"StackIdPrefix"}
    # The prefix is the first block of the stack id's UUID: 8 hex digits whatever the stack's name.
    example = name_template.replace("${StackIdPrefix}", "1a2b3c4d")
    assert len(example) <= 64
    # SAM's CodeDeploy role carries this AWS-managed policy; it only lets CodeDeploy invoke
    # functions matching its resource pattern (the policy text is moto's offline copy of AWS's).
    role = resources["CodeDeployServiceRole"]["Properties"]
    assert role["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda"]
    policy = json.loads(aws_managed_policies_data)["AWSCodeDeployRoleForLambda"]["Document"]
    invokable = [s["Resource"] for s in policy["Statement"] if "lambda:InvokeFunction" in as_list(s["Action"])]
    assert invokable == ["arn:aws:lambda:*:*:function:CodeDeployHook_*"]
    assert fnmatch.fnmatchcase(f"arn:aws:lambda:{REGION}:123456789012:function:{example}", invokable[0])


def test_hook_names_differ(resources):
    names = {resources[hook]["Properties"]["FunctionName"]["Fn::Sub"][0] for hook in HOOKS}
    assert names == {
        "CodeDeployHook_orders-PreTraffic-${StackIdPrefix}",
        "CodeDeployHook_orders-PostTraffic-${StackIdPrefix}",
    }


def test_hook_functions_have_no_deployment_preference(source, resources):
    for hook in HOOKS:
        assert source["Resources"][hook]["Properties"]["DeploymentPreference"] == {"Enabled": False}
    # Nothing releases the hooks themselves: no version or alias of theirs exists.
    released = [
        *of_type(resources, "AWS::Lambda::Version").values(), *of_type(resources, "AWS::Lambda::Alias").values()
    ]
    versioned = {r["Properties"]["FunctionName"]["Ref"] for r in released}
    assert versioned == {"OrdersFunction"}


@pytest.mark.parametrize("hook, phase", sorted(HOOKS.items()))
def test_hook_runtime_and_environment(hook, phase, resources):
    properties = resources[hook]["Properties"]
    assert (properties["Handler"], properties["Runtime"]) == ("hookkit.handler", "python3.12")
    assert properties["Layers"] == [{"Ref": next(iter(of_type(resources, "AWS::Lambda::LayerVersion")))}]
    assert properties["TracingConfig"] == {"Mode": "Active"}
    env = properties["Environment"]["Variables"]
    assert env["HOOKKIT_CHECKS"] == "orders_checks"
    assert Phase.parse(env["HOOKKIT_PHASE"]) is phase
    assert env["HOOKKIT_FUNCTION"] == {"Ref": "OrdersFunction"}
    (version,) = of_type(resources, "AWS::Lambda::Version")
    assert env["HOOKKIT_TARGET_VERSION"] == {"Fn::GetAtt": [version, "Version"]}  # the number, not the ARN
    assert (env["POWERTOOLS_SERVICE_NAME"], env["POWERTOOLS_METRICS_NAMESPACE"]) == ("orders-hooks", "hookkit")


def test_the_checks_module_is_in_the_hooks_code(source):
    for hook in HOOKS:
        properties = source["Resources"][hook]["Properties"]
        module = properties["Environment"]["Variables"]["HOOKKIT_CHECKS"]
        assert (ROOT / properties["CodeUri"] / f"{module}.py").is_file()


def test_only_the_post_traffic_hook_reads_the_api_url_from_the_stack_output(cfn, resources):
    pre = resources["OrdersPreTrafficHook"]["Properties"]["Environment"]["Variables"]
    post = resources["OrdersPostTrafficHook"]["Properties"]["Environment"]["Variables"]
    assert not {key for key in pre if key.startswith(("HOOKKIT_API", "HOOKKIT_STACK"))}
    assert post["HOOKKIT_STACK_NAME"] == {"Ref": "AWS::StackName"}
    assert post["HOOKKIT_API_OUTPUT"] == "ApiUrl"
    assert "HOOKKIT_API_URL" not in post
    assert "ApiUrl" in cfn["Outputs"]


def slowest_check_s(checks_module: Path) -> float:
    """timeout x (1 + retries) of the slowest check declared with both, read from the decorators."""
    budgets = []
    for node in ast.walk(ast.parse(checks_module.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("pre_traffic", "post_traffic"):
            options = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg in ("timeout", "retries")}
            budgets.append(options.get("timeout", 0) * (1 + options.get("retries", 0)))
    return max(budgets)


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_hook_timeout_leaves_room_for_the_report(hook, source, resources):
    properties = source["Resources"][hook]["Properties"]
    module = properties["Environment"]["Variables"]["HOOKKIT_CHECKS"]
    slowest = slowest_check_s(ROOT / properties["CodeUri"] / f"{module}.py")
    default_reserve_s = 3
    assert slowest == 30
    assert resources[hook]["Properties"]["Timeout"] == 120
    assert resources[hook]["Properties"]["Timeout"] > slowest + default_reserve_s


# --- least privilege ---------------------------------------------------------------------------

DEPLOYMENT_GROUP_ARN = {
    "Fn::Sub": "arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:"
    "${ServerlessDeploymentApplication}/${OrdersFunctionDeploymentGroup}"
}
CODEDEPLOY_GRANTS = {
    "codedeploy:PutLifecycleEventHookExecutionStatus": [DEPLOYMENT_GROUP_ARN],
    "codedeploy:GetDeployment": [DEPLOYMENT_GROUP_ARN],
    "codedeploy:GetApplicationRevision": [{
        "Fn::Sub": "arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:application:"
        "${ServerlessDeploymentApplication}"
    }],
    "codedeploy:ListDeploymentTargets": ["*"],
    "codedeploy:BatchGetDeploymentTargets": ["*"],
}
FALLBACK_ARN = {"Fn::GetAtt": ["HookFallback", "Arn"]}


def test_the_pre_traffic_hook_may_report_discover_and_invoke_the_orders_versions_only(resources):
    role = resources["OrdersPreTrafficHookRole"]
    assert granted(statements_of(role, resources)) == {
        **CODEDEPLOY_GRANTS,
        # SAM's grant for the on-failure destination comes first, then the template's own
        "lambda:InvokeFunction": [FALLBACK_ARN, {"Fn::Sub": "${OrdersFunction.Arn}:*"}],
    }
    assert role["Properties"]["ManagedPolicyArns"][:2] == SAM_MANAGED_POLICIES


def test_the_post_traffic_hook_may_report_discover_and_read_its_own_stack_only(resources):
    role = resources["OrdersPostTrafficHookRole"]
    assert granted(statements_of(role, resources)) == {
        **CODEDEPLOY_GRANTS,
        "lambda:InvokeFunction": [FALLBACK_ARN],
        "cloudformation:DescribeStacks": [{"Ref": "AWS::StackId"}],
    }
    assert role["Properties"]["ManagedPolicyArns"][:2] == SAM_MANAGED_POLICIES


@pytest.mark.parametrize(("role", "count"), [
    ("OrdersPreTrafficHookRole", 6), ("OrdersPostTrafficHookRole", 6), ("HookFallbackRole", 1),
])
def test_no_hook_policy_grants_a_write_action_on_every_resource(role, count, resources):
    statements = statements_of(resources[role], resources)
    assert len(statements) == count
    assert writes_on_star(statements) == []


def test_the_write_on_star_detector_sees_writes_and_wildcards():
    statements = [
        {"Effect": "Allow", "Action": ["codedeploy:ListDeploymentTargets", "lambda:InvokeFunction"], "Resource": "*"},
        {"Effect": "Allow", "Action": "codedeploy:Get*", "Resource": ["*"]},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::bucket/*"},
        {"Effect": "Deny", "Action": "iam:*", "Resource": "*"},
    ]
    assert writes_on_star(statements) == ["lambda:InvokeFunction", "codedeploy:Get*"]


# --- dependencies ------------------------------------------------------------------------------


def test_the_transformed_template_has_no_circular_dependency(cfn):
    assert cycles(cfn) == []


def test_a_hook_naming_the_api_would_be_a_circular_dependency(source):
    """Why the PostTraffic hook reads the URL from the stack output, not from !Sub ServerlessRestApi.

    cfn-lint skips cycles through SAM resources (its E3004 rule), so only the transformed template
    shows this; CloudFormation would refuse the change set.
    """
    source = copy.deepcopy(source)
    env = source["Resources"]["OrdersPostTrafficHook"]["Properties"]["Environment"]["Variables"]
    env["HOOKKIT_API_URL"] = {"Fn::Sub": "https://${ServerlessRestApi}.execute-api.${AWS::Region}.amazonaws.com/Prod"}
    assert cycles(transform(source)) == [["OrdersFunctionAliaslive", "OrdersPostTrafficHook", "ServerlessRestApi"]]


# --- packaging ---------------------------------------------------------------------------------


def test_the_layer_is_built_by_its_makefile(source):
    layer = source["Resources"]["HookkitLayer"]
    assert layer["Metadata"] == {"BuildMethod": "makefile"}
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    makefile = ROOT / layer["Properties"]["ContentUri"] / "Makefile"
    assert "\nbuild-HookkitLayer:\n" in makefile.read_text()


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_the_layer_makefile_finds_the_repository_from_sam_builds_scratch_folder(source, tmp_path):
    # sam build runs the target in a copy of ContentUri, passing the original Makefile's path.
    makefile = ROOT / source["Resources"]["HookkitLayer"]["Properties"]["ContentUri"] / "Makefile"
    artifacts = tmp_path / "HookkitLayer"
    dry_run = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", "--makefile", str(makefile), "build-HookkitLayer",
         f"ARTIFACTS_DIR={artifacts}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    commands = dry_run.stdout.splitlines()
    assert commands[1] == f'python3 -m pip wheel --no-deps --wheel-dir "{artifacts}/wheels" "{ROOT}"'
    assert f'--target "{artifacts}/python"' in commands[2]
    lambda_wheels = "--platform manylinux2014_x86_64 --implementation cp --python-version 3.12 --only-binary=:all:"
    assert lambda_wheels in commands[2]


# --- the last resort: a hook invocation that fails entirely is reported by the fallback ---------


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_each_hook_hands_an_invocation_that_failed_entirely_to_the_fallback(hook, resources):
    configs = [r["Properties"] for r in of_type(resources, "AWS::Lambda::EventInvokeConfig").values()
               if r["Properties"]["FunctionName"] == {"Ref": hook}]
    # CodeDeploy invokes the hook by name, unqualified: the configuration of $LATEST is the one applied.
    assert configs == [{
        "FunctionName": {"Ref": hook},
        "Qualifier": "$LATEST",
        "MaximumRetryAttempts": 1,
        # an event throttled in Lambda's queue reaches the fallback well within CodeDeploy's one hour
        "MaximumEventAgeInSeconds": 900,
        "DestinationConfig": {"OnFailure": {"Destination": FALLBACK_ARN}},
    }]


def test_the_fallback_runs_hookkit_fallback_briefly_and_is_never_released_by_codedeploy(source, resources):
    properties = resources["HookFallback"]["Properties"]
    assert (properties["Handler"], properties["Runtime"]) == ("hookkit.fallback", "python3.12")
    assert properties["Layers"] == [{"Ref": next(iter(of_type(resources, "AWS::Lambda::LayerVersion")))}]
    # one report, retried until shortly before its end: well under a hook's own timeout
    assert 10 <= properties["Timeout"] <= 60
    assert source["Resources"]["HookFallback"]["Properties"]["DeploymentPreference"] == {"Enabled": False}
    # Lambda's asynchronous destination invokes it with the hook's role, not CodeDeploy: it needs no
    # CodeDeployHook_ name, and CodeDeploy's own role cannot invoke it.
    assert "FunctionName" not in properties
    assert not any(name.startswith("HookFallback") for name in of_type(resources, "AWS::Lambda::Permission"))


def test_the_fallback_may_only_report_on_this_deployment_group(resources):
    role = resources["HookFallbackRole"]
    assert granted(statements_of(role, resources)) == {
        "codedeploy:PutLifecycleEventHookExecutionStatus": [DEPLOYMENT_GROUP_ARN],
    }
    assert role["Properties"]["ManagedPolicyArns"] == SAM_MANAGED_POLICIES


def test_only_the_hooks_may_invoke_the_fallback(resources):
    invokers = sorted(
        name for name, role in of_type(resources, "AWS::IAM::Role").items()
        if FALLBACK_ARN in granted(statements_of(role, resources)).get("lambda:InvokeFunction", [])
    )
    assert invokers == ["OrdersPostTrafficHookRole", "OrdersPreTrafficHookRole"]

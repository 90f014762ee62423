"""The CDK app: ``python -m infra.app`` (what cdk.json runs; ``make synth`` sets CDK_OUTDIR).

Synthesizes offline: no AWS credentials, no network. Needs ``make build`` first (the Lambda
code and the dependency layer under build/). cdk-nag's AWS Solutions checks run at synth:
an unacknowledged finding fails it and is written to ``<outdir>/validation-report.json``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from infra import build
from infra.edge_stack import EDGE_REGION, GuichetEdgeStack
from infra.stack import TAGS, GuichetStack

STACK_NAME = "GuichetStack"
EDGE_STACK_NAME = "GuichetEdgeStack"
CDK_JSON = build.ROOT / "cdk.json"


def cdk_context() -> dict[str, Any]:
    """The context of cdk.json (feature flags). The cdk CLI passes it to the app itself;
    reading it here gives `make synth` and the tests the same flags as `cdk deploy`."""
    context: dict[str, Any] = json.loads(CDK_JSON.read_text()).get("context", {})
    return context


def create_app(
    *,
    code_dir: Path = build.LAMBDA_DIR,
    layer_dir: Path = build.LAYER_DIR,
    outdir: str | None = None,
    context: dict[str, Any] | None = None,
) -> tuple[App, GuichetStack]:
    """The app with its stacks and the cdk-nag checks (not synthesized yet): GuichetStack, and
    GuichetEdgeStack (``app.node.find_child(EDGE_STACK_NAME)``), the web ACL in us-east-1."""
    app = App(outdir=outdir, context={**cdk_context(), **(context or {})})
    GuichetEdgeStack(
        app,
        EDGE_STACK_NAME,
        tags=TAGS,
        env=Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=EDGE_REGION),
    )
    stack = GuichetStack(
        app,
        STACK_NAME,
        code_dir=code_dir,
        layer_dir=layer_dir,
        # Set by the cdk CLI from the caller's profile; absent offline: an environment-agnostic stack.
        env=Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")
        ),
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


def main() -> int:
    missing = [path for path in (build.LAMBDA_DIR, build.LAYER_DIR / "python") if not path.is_dir()]
    if missing:
        print(f"missing {', '.join(map(str, missing))}: run `make build` first", file=sys.stderr)
        return 1
    app, _ = create_app()
    app.synth()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Alarms and the operations dashboard (issue 15 #7). Every alarm notifies the one ops topic
(``registry`` topic ``ops-alarms``) when it fires and when it clears; docs/operations.md says
what each means and what to do. Names are ``<stack>-<kind>-<what>`` so a notification says
which runbook entry applies.

Besides the dead-letter alarms of infra/constructs/messaging.py:
- ``queue-age-<queue>``: the oldest message of a queue has waited ``QueueSpec.max_age_s``;
- ``errors-<function>`` / ``throttles-<function>``: unhandled errors, throttled invocations;
- ``api-5xx``: the HTTP API answered 5xx (integration failures, timeouts, function errors);
- ``executions-failed-<state machine>``: executions failed, timed out or were aborted;
- ``schedule-stopped-<schedule>``: a scheduled function (e.g. the SLA check) has had no
  successful run for three of its intervals.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import registry
from infra.constructs.resources import pascal

API_5XX_THRESHOLD = 5  # 5xx answers in 5 minutes
FIVE_MINUTES = Duration.minutes(5)
AT_LEAST = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours)\)")


def schedule_interval_s(expression: str) -> int | None:
    """Seconds between runs of a ``rate(...)`` schedule; None for cron (alarmed by errors only)."""
    match = _RATE.fullmatch(expression.strip())
    if match is None:
        return None
    amount, unit = int(match.group(1)), match.group(2)
    return amount * (3600 if unit.startswith("hour") else 60)


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        queues: Mapping[str, sqs.Queue],
        dead_letter_alarms: Mapping[str, cloudwatch.Alarm],
        functions: Mapping[str, lambda_.Function],
        http_api: apigwv2.HttpApi,
        state_machines: Mapping[str, sfn.StateMachine],
    ) -> None:
        super().__init__(scope, construct_id)
        self._prefix = Stack.of(self).stack_name
        self._action = cloudwatch_actions.SnsAction(topic)
        self.alarms: dict[str, cloudwatch.Alarm] = {}

        for spec in registry.QUEUES:
            self._alarm(
                "queue-age",
                spec.name,
                queues[spec.name].metric_approximate_age_of_oldest_message(
                    period=Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
                ),
                threshold=spec.max_age_s,
                evaluation_periods=3,
                description=f"The oldest message of queue '{spec.name}' has waited {spec.max_age_s} s or "
                "more for 3 minutes: its consumer is failing, throttled or too slow.",
            )
        for spec in registry.FUNCTIONS:
            function = functions[spec.name]
            self._alarm(
                "errors",
                spec.name,
                function.metric_errors(period=FIVE_MINUTES, statistic=cloudwatch.Stats.SUM),
                threshold=registry.ERRORS_ALARM_THRESHOLD,
                description=f"{spec.name} raised unhandled errors (a bug or a dependency failing).",
            )
            self._alarm(
                "throttles",
                spec.name,
                function.metric_throttles(period=FIVE_MINUTES, statistic=cloudwatch.Stats.SUM),
                threshold=1,
                description=f"Invocations of {spec.name} were throttled (account or function concurrency).",
            )
        self._alarm(
            "api-5xx",
            None,
            http_api.metric_server_error(period=FIVE_MINUTES, statistic=cloudwatch.Stats.SUM),
            threshold=API_5XX_THRESHOLD,
            description=f"The HTTP API answered 5xx at least {API_5XX_THRESHOLD} times in 5 minutes.",
        )
        for name, machine in state_machines.items():
            failed = cloudwatch.MathExpression(
                expression="FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)",
                using_metrics={
                    "failed": machine.metric_failed(period=FIVE_MINUTES),
                    "timedOut": machine.metric_timed_out(period=FIVE_MINUTES),
                    "aborted": machine.metric_aborted(period=FIVE_MINUTES),
                },
                label=f"{name} executions failed, timed out or aborted",
                period=FIVE_MINUTES,
            )
            self._alarm(
                "executions-failed",
                name,
                failed,
                threshold=1,
                description=f"Executions of the {name} state machine failed, timed out or were aborted.",
            )
        for schedule, spec in registry.all_schedules():
            interval = schedule_interval_s(schedule.expression)
            if interval is None:
                continue
            window = Duration.seconds(max(interval * 3, 300))
            function = functions[spec.name]
            runs = cloudwatch.MathExpression(
                expression="FILL(invocations, 0) - FILL(errors, 0)",
                using_metrics={
                    "invocations": function.metric_invocations(period=window),
                    "errors": function.metric_errors(period=window),
                },
                label=f"successful runs of {schedule.name}",
                period=window,
            )
            self._alarm(
                "schedule-stopped",
                schedule.name,
                runs,
                threshold=1,
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                missing=cloudwatch.TreatMissingData.BREACHING,
                description=f"No successful run of '{schedule.name}' ({spec.name}, {schedule.expression}) "
                f"for {window.to_minutes()} minutes: {schedule.description} is not happening.",
            )
        self.dashboard = self._dashboard(queues, functions, http_api, state_machines, dead_letter_alarms)

    def _alarm(
        self,
        kind: str,
        target: str | None,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
        comparison: cloudwatch.ComparisonOperator = AT_LEAST,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) -> None:
        name = f"{kind}-{target}" if target else kind
        alarm = cloudwatch.Alarm(
            self,
            pascal(name.replace("-", "_")),
            alarm_name=f"{self._prefix}-{name}",
            alarm_description=f"{description} Runbook: docs/operations.md, alarm '{kind}'.",
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=evaluation_periods,
            treat_missing_data=missing,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms[name] = alarm

    def _dashboard(
        self,
        queues: Mapping[str, sqs.Queue],
        functions: Mapping[str, lambda_.Function],
        http_api: apigwv2.HttpApi,
        state_machines: Mapping[str, sfn.StateMachine],
        dead_letter_alarms: Mapping[str, cloudwatch.Alarm],
    ) -> cloudwatch.Dashboard:
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"{self._prefix}-operations")
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title="Alarms",
                alarms=[*self.alarms.values(), *dead_letter_alarms.values()],
                width=24,
            )
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API requests",
                left=[http_api.metric_count(period=Duration.minutes(1))],
                right=[
                    http_api.metric_client_error(period=Duration.minutes(1)),
                    http_api.metric_server_error(period=Duration.minutes(1)),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="API latency (p95, ms)",
                left=[
                    http_api.metric_latency(period=Duration.minutes(1), statistic="p95"),
                    http_api.metric_integration_latency(period=Duration.minutes(1), statistic="p95"),
                ],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Queues: messages waiting",
                left=[q.metric_approximate_number_of_messages_visible() for q in queues.values()],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Queues: age of the oldest message (s)",
                left=[
                    q.metric_approximate_age_of_oldest_message(statistic=cloudwatch.Stats.MAXIMUM)
                    for q in queues.values()
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Dead-letter queues",
                left=[alarm.metric for alarm in dead_letter_alarms.values()],
                width=8,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Lambda errors",
                left=[f.metric_errors(period=FIVE_MINUTES, label=name) for name, f in functions.items()],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Lambda throttles",
                left=[f.metric_throttles(period=FIVE_MINUTES, label=name) for name, f in functions.items()],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Lambda duration (p95, ms)",
                left=[
                    f.metric_duration(period=FIVE_MINUTES, statistic="p95", label=name)
                    for name, f in functions.items()
                ],
                width=8,
            ),
        )
        for name, machine in state_machines.items():
            dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title=f"{name} executions",
                    left=[
                        machine.metric_started(period=FIVE_MINUTES),
                        machine.metric_succeeded(period=FIVE_MINUTES),
                        machine.metric_failed(period=FIVE_MINUTES),
                        machine.metric_timed_out(period=FIVE_MINUTES),
                    ],
                    width=24,
                )
            )
        return dashboard

"""The local stack: Guichet's AWS side on moto, served over HTTP on 127.0.0.1 (``make dev``).

Everything is derived from the declarations (``infra/registry.py``,
``shared/adapters/dynamodb/schema.py``, ``infra/statemachine/*.asl.json``), so what runs
locally is what CDK deploys, minus AWS.

Use::

    make dev                      # PORT=3000 by default; Ctrl-C stops it (exit 0)
    make token ROLE=agent         # an id token of a seeded demo user (agent|supervisor|admin|customer)
    curl -H "Authorization: Bearer $(make -s token)" localhost:3000/api/tickets
    curl localhost:3000/local/outbox            # what would have been sent (mail, SMS, providers)
    curl localhost:3000/local/queues            # queue and DLQ depths
    curl localhost:3000/local/stack             # local names/ids; awsEndpoint for the AWS CLI
    make fire SCHEDULE=<name>                   # run a scheduled function now
    curl --data-binary @mail.eml localhost:3000/local/inbound-email   # SES receiving -> S3 + topic
    curl -d '{"source":"aws.connect","detail-type":"...","detail":{}}' localhost:3000/local/events

Modules: ``runtime`` (startup order and shutdown), ``resources`` (provisioning, ``Ref``
resolution, function environments), ``dispatcher`` (real handlers behind every invoke),
``gateway`` + ``authorizer`` (API Gateway HTTP API and its JWT authorizer), ``poller`` (SQS event
sources), ``scheduler`` (rate/cron), ``outbox`` (sent mail/SMS, provider fakes),
``inbound_email`` (SES receiving), ``local_api`` (``/local/*``).

Environment knobs: ``PORT``, ``LOCAL_MOTO_PORT`` (default: free), ``AWS_DEFAULT_REGION``
(default eu-west-3), ``PUBLIC_BASE_URL`` (default ``http://127.0.0.1:$PORT``),
``LOCAL_DEMO_PASSWORD``, each secret key's variable (e.g. ``META_APP_SECRET``),
``LOCAL_TRACEBACKS=1`` (full tracebacks of handler errors; off by default because exception
messages can quote payloads) and ``LOCAL_STATEMACHINE_DIR`` (tests).
"""

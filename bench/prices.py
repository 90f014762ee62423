"""AWS list prices (us-east-1, on demand), from ../shared/cost-model.md. One table, in dollars."""

LAMBDA_REQUEST = 0.20 / 1e6
LAMBDA_ARM_GB_SECOND = 0.0000133334
HTTP_API_REQUEST = 1.00 / 1e6
SQS_REQUEST = 0.40 / 1e6
DDB_WRITE_UNIT = 0.625 / 1e6
DDB_READ_UNIT = 0.125 / 1e6
LOGS_PER_GB = 0.50
SES_EMAIL = 0.10 / 1000
SNS_PUBLISH = 0.50 / 1e6
SFN_TRANSITION = 0.025 / 1000

# Assumed warm durations (cost-model.md latency anchors: 256 MB with one DynamoDB round trip
# is 21-33 ms; the processor does a transaction and up to three reads). Not measured on moto:
# moto's timing says nothing about DynamoDB's.
ASSUMED_DURATION_MS = {
    "health": 5,
    "form_webhook": 30,
    "inbound_processor": 60,
    "agent_api": 40,
    "meta_webhook": 20,  # verify an HMAC, one SQS send
    "twilio_webhook": 20,
    "portal_api": 30,
    "commerce_webhook": 20,  # verify an HMAC, one SQS send
    # the 360 view: 5 reads (order, profile, links, workflow record, alerts) + 1 Query per ticket
    "orders_api": 60,
    "abandoned_carts": 60,  # 4 Queries + one transaction per due cart
}

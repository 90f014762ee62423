"""The 360 order view and its companions (orders_api) on moto, from events/orders_api samples."""

from __future__ import annotations

import json

from functions.form_webhook.handler import handler as form_webhook
from functions.inbound_processor.handler import handler as processor
from functions.orders_api.handler import handler as orders_api
from shared.adapters.dynamodb.repository import DynamoRepository
from tests.integration import commerce_support
from tests.integration.commerce_support import SHOPIFY_ORDER, deliver, drain, record
from tests.support import load_event

commerce = commerce_support.commerce  # the fixture


def _ask(event, context):
    response = orders_api(event, context)
    return response["statusCode"], json.loads(response["body"])


def _customer_writes_about_the_order(aws, context) -> str:
    """Bob uses the contact form with the email of his Shopify order: one ticket on his profile."""
    event = load_event("form_webhook/json_submission")
    body = json.loads(event["body"])
    body.update(email="Bob.Norman@example.com", name="Bob Norman", subject="Où est ma commande ?")
    event["body"] = json.dumps(body)
    assert form_webhook(event, context)["statusCode"] == 202
    processor({"Records": [record(m) for m in drain(aws)]}, context)
    customer_id = DynamoRepository(aws["table"]).identity_owner("email", "bob.norman@example.com")
    profile = DynamoRepository(aws["table"]).get_customer(customer_id)
    return profile.value.open_ticket_id


def test_the_360_view_gathers_contact_lines_payment_shipments_tickets_and_exchanges(commerce, lambda_context):
    deliver(commerce, lambda_context, "shopify_orders_create")
    deliver(commerce, lambda_context, "shopify_fulfillments_create")
    ticket_id = _customer_writes_about_the_order(commerce, lambda_context)
    link = load_event("orders_api/link_ticket")
    link["pathParameters"]["ticket_id"] = ticket_id
    link["rawPath"] = link["requestContext"]["http"]["path"] = (
        f"/api/orders/{SHOPIFY_ORDER}/tickets/{ticket_id}"
    )

    # The customer's message named the order: the ticket is linked already (issue 11, item 4),
    # and linking it by hand changes nothing.
    assert _ask(link, lambda_context) == (
        200,
        {"order_id": SHOPIFY_ORDER, "ticket_id": ticket_id, "linked": False},
    )
    status, view = _ask(load_event("orders_api/get_order"), lambda_context)

    assert status == 200
    order = view["order"]
    assert (order["number"], order["total"], order["payment"]["status"]) == ("#1001", "409.94", "paid")
    assert order["shipping_address"]["city"] == "Paris" and order["billing_address"]["postal_code"] == "75002"
    assert [(line["sku"], line["quantity"]) for line in order["lines"]] == [("IPOD2008GREEN", 2)]
    [shipment] = order["shipments"]
    assert (
        shipment["tracking_url"].startswith("https://www.laposte.fr/") and shipment["carrier"] == "Colissimo"
    )
    contact = view["contact"]
    assert contact["name"] == "Bob Norman" and contact["emails"] == ["bob.norman@example.com"]
    assert "+33612345678" in contact["phones"]
    assert [t["ticket"]["id"] for t in view["tickets"]] == [ticket_id]
    assert view["tickets"][0]["ticket"]["order_id"] == SHOPIFY_ORDER
    [exchange] = view["exchanges"]
    assert exchange["party"] == {"role": "customer", "id": contact["customer_id"], "name": "Bob Norman"}
    assert exchange["channel"] == "web_form" and exchange["direction"] == "inbound"
    # Shipped with a tracking number: the shop is preparing and shipping it (issue 13.8).
    assert view["stage"] == "preparation"
    assert [e["stage"] for e in view["stage_history"]] == ["reception", "preparation"]


def test_non_staff_get_403_and_unknown_orders_404(commerce, lambda_context):
    deliver(commerce, lambda_context, "shopify_orders_create")
    assert _ask(load_event("orders_api/get_order_no_role"), lambda_context)[0] == 403
    unknown = load_event("orders_api/get_order")
    unknown["pathParameters"]["order_id"] = "ONOPE"
    unknown["rawPath"] = unknown["requestContext"]["http"]["path"] = "/api/orders/ONOPE"
    assert _ask(unknown, lambda_context)[0] == 404
    link = load_event("orders_api/link_ticket")
    assert _ask(link, lambda_context)[0] == 404  # the ticket does not exist


def test_orders_by_number_and_a_customers_orders(commerce, lambda_context):
    deliver(commerce, lambda_context, "shopify_orders_create")
    deliver(commerce, lambda_context, "woocommerce_order_created")
    status, found = _ask(load_event("orders_api/find_by_number"), lambda_context)
    assert status == 200 and [o["id"] for o in found["items"]] == [SHOPIFY_ORDER]

    customer_id = commerce["orders"].get_order(SHOPIFY_ORDER).value.customer_id
    event = load_event("orders_api/customer_orders")
    event["pathParameters"]["customer_id"] = customer_id
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/api/customers/{customer_id}/orders"
    status, page = _ask(event, lambda_context)
    assert status == 200 and [o["number"] for o in page["items"]] == ["#1001"]


def test_the_360_view_of_a_quote_order_shows_its_workflow(lambda_context):
    """A quote driven to the end on the real ASL: the 360 view carries what the workflow view
    shows (appointment, serials, commissioning, invoice link, alerts per stage, survey, CSAT)."""
    from shared.adapters.dynamodb.workflow_store import WorkflowStore
    from tests.workflow_support import WorkflowHarness, first_offered_slot

    with WorkflowHarness() as wf:
        wf.seed_customer()
        wf.seed_catalog()
        quote = wf.quote()
        order_id = wf.accept(quote["id"], slot=first_offered_slot(quote))
        assert wf.report(order_id).status == 200
        assert wf.wait_status(order_id) == "SUCCEEDED"
        token = WorkflowStore(wf.table).survey_for_order(order_id).value.token
        assert wf.api("POST", f"/survey/{token}", {"score": 5, "comment": "Parfait"}).status == 200

        reply = wf.api("GET", f"/api/orders/{order_id}")
        assert reply.status == 200, reply
        view = reply.body
        workflow = view["workflow"]
        # The same details as GET /api/orders/{id}/workflow, from the same function (which adds
        # short-lived links to the reports' photos: the documents bucket is its own).
        details = wf.api("GET", f"/api/orders/{order_id}/workflow").body
        assert [r.pop("links") for r in details["reports"]] == [{"photos": []}]
        assert workflow == details
        assert "awaiting" not in workflow and workflow["waiting_for"] is None  # no task token
        assert workflow["appointment"]["technician_id"] == "T1"
        assert workflow["appointment"]["start"].startswith(first_offered_slot(quote)["start"][:16])
        assert workflow["provisioning_reference"].startswith("PRV-")
        assert [t["name"] for t in workflow["reports"][0]["tests"]] == ["optical power", "throughput"]
        invoice = workflow["invoice"]
        assert invoice["number"].startswith("F") and invoice["link"] == f"/api/orders/{order_id}/invoice"
        assert wf.api("GET", invoice["link"]).status == 302  # the link opens the document
        assert {a["key"]: (a["status"], a["channel"]) for a in workflow["alerts"]} == {
            stage: ("sent", "email")
            for stage in ("received", "scheduled", "prepared", "installed", "invoiced", "survey")
        }
        assert workflow["survey_id"] and workflow["csat"]["score"] == 5
        assert workflow["csat"]["comment"] == "Parfait"
        router = next(line for line in view["order"]["lines"] if line["sku"] == "ROUTER-X")
        assert router["serial_numbers"] and router["billable_status"] == "billed"
        assert view["stage"] == "completed"


def test_an_order_without_workflow_has_none_in_its_360_view(commerce, lambda_context):
    deliver(commerce, lambda_context, "shopify_orders_create")
    status, view = _ask(load_event("orders_api/get_order"), lambda_context)
    assert status == 200 and view["workflow"] is None

"""The flow view: each flow in ivr_flows/ drawn, and the exact version a call used."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

from flask import Flask
from flask.testing import FlaskClient

from helpline.ivr.model import flow_to_json
from helpline.ivr.registry import FlowRegistry
from helpline.models import FlowVersion
from tests.factories import Factory, login

NS = "{http://www.w3.org/2000/svg}"


def _registry(app: Flask) -> FlowRegistry:
    registry: FlowRegistry = app.extensions["helpline.flows"]
    return registry


def test_flows_page_lists_every_flow_with_its_diagram(
    app: Flask, client: FlaskClient, factory: Factory
) -> None:
    """Every flow in ivr_flows/ is listed with its version, and its diagram is the SVG
    that `helpline flows diagram` draws, served as an image."""
    factory.staff("sup", roles=("supervisor",))
    login(client, "sup")
    page = client.get("/supervisor/flows").get_data(as_text=True)
    flows = _registry(app).catalog.flows
    assert flows
    for flow in flows.values():
        assert f"<code>{flow.version}</code>" in page
        one = client.get(f"/supervisor/flows/{flow.id}")
        assert one.status_code == 200
        assert "the line answers with this version now" in one.get_data(as_text=True)
        svg = client.get(f"/supervisor/flows/{flow.id}/diagram.svg")
        assert svg.mimetype == "image/svg+xml"
        root = ET.fromstring(svg.data)
        assert root.tag == f"{NS}svg"
        title = root.find(f"{NS}title")
        assert title is not None
        assert f"version {flow.version}" in (title.text or "")


def test_flow_view_draws_the_version_a_call_used(
    app: Flask, client: FlaskClient, factory: Factory
) -> None:
    """A call's detail links to the version it was pinned to, drawn from the database
    even after the file changed; an unknown flow or version is 404."""
    factory.staff("sup", roles=("supervisor",))
    current = next(iter(_registry(app).catalog.flows.values()))
    old = dataclasses.replace(current, version="0ld", title="The line as it was")
    factory.session.add(
        FlowVersion(flow_id=old.id, version=old.version, definition=flow_to_json(old))
    )
    factory.session.commit()
    call = factory.call(flow_id=old.id, flow_version=old.version)
    login(client, "sup")
    detail = client.get(f"/supervisor/calls/{call.id}").get_data(as_text=True)
    link = f"/supervisor/flows/{old.id}?version=0ld"
    assert f'href="{link}"' in detail
    page = client.get(link).get_data(as_text=True)
    assert "The line as it was" in page
    assert "an earlier version" in page
    svg = client.get(f"/supervisor/flows/{old.id}/diagram.svg?version=0ld").get_data(as_text=True)
    assert "The line as it was" in svg
    listing = client.get("/supervisor/flows").get_data(as_text=True)
    assert link in listing
    assert client.get("/supervisor/flows/no_such_flow").status_code == 404
    assert client.get(f"/supervisor/flows/{old.id}?version=nope").status_code == 404


def test_flow_view_is_for_supervisors_only(client: FlaskClient, factory: Factory) -> None:
    """Counsellors are refused the flow pages."""
    factory.staff("ayse")
    login(client, "ayse")
    assert client.get("/supervisor/flows").status_code == 403

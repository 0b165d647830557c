"""The validator finds what the OASIS schema finds, and what it does not check."""

from __future__ import annotations

import pytest
from lxml import etree

from drafting.importers.akn import AKN_NS, parse_xml
from drafting.importers.parsed import SourceError
from exporters.akn import export_akn
from exporters.validate import AknInvalid, akn_problems, check_akn, schema

NS = {"a": AKN_NS}


@pytest.fixture
def exported(negotiated) -> etree._Element:
    return parse_xml(export_akn(negotiated))


def messages(root: etree._Element) -> list[str]:
    return [problem.message for problem in akn_problems(etree.tostring(root))]


def test_an_export_has_no_problem_and_the_schema_is_loaded_once(exported):
    assert akn_problems(exported) == []
    check_akn(exported)
    assert schema() is schema()


def test_what_the_schema_refuses_is_reported_with_its_line(exported):
    identification = exported.find(f".//{{{AKN_NS}}}identification")
    identification.remove(identification.find(f"{{{AKN_NS}}}FRBRWork"))
    problems = akn_problems(etree.tostring(exported))
    assert any("FRBRWork" in p.message and p.line > 0 for p in problems)


def test_a_missing_eid_is_reported(exported):
    article = exported.find(f".//{{{AKN_NS}}}article")
    del article.attrib["eId"]
    assert "<article> has no eId" in messages(exported)


def test_a_duplicated_eid_is_reported(exported):
    first, second = exported.findall(f".//{{{AKN_NS}}}article")[:2]
    second.set("eId", first.get("eId"))
    assert any("art_1" in message and "twice" in message for message in messages(exported))


def test_references_to_nothing_are_reported(exported):
    span = exported.xpath("//a:span[@alternativeTo]", namespaces=NS)[0]
    span.set("alternativeTo", "art_99__span_1")
    span.set("refersTo", "#bracket #party_NOBODY")
    exported.xpath("//a:noteRef", namespaces=NS)[0].set("href", "#note_99")
    found = messages(exported)
    assert "<span> alternativeTo='art_99__span_1' names no element" in found
    assert "<span> refersTo='#party_NOBODY' names no element" in found
    assert "<noteRef> href='#note_99' names no element" in found


def test_an_alternative_must_be_the_same_kind_of_element(exported):
    span = exported.xpath("//a:span[@alternativeTo]", namespaces=NS)[0]
    span.set("alternativeTo", "art_1")
    assert any("is an alternative to a article, not a span" in m for m in messages(exported))


def test_frbr_uris_must_follow_the_naming_convention(exported):
    exported.xpath("//a:FRBRWork/a:FRBRuri", namespaces=NS)[0].set("value", "paris agreement")
    assert "'paris agreement' is not an AKN FRBR URI" in messages(exported)


def test_check_raises_with_every_problem_listed(exported):
    for article in exported.findall(f".//{{{AKN_NS}}}article"):
        del article.attrib["eId"]
    with pytest.raises(AknInvalid) as invalid:
        check_akn(etree.tostring(exported))
    assert "3 problem(s)" in str(invalid.value)
    assert str(invalid.value).count("<article> has no eId") == 3


def test_the_validator_parses_untrusted_input_safely():
    with pytest.raises(SourceError, match="DOCTYPE"):
        akn_problems(b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>')

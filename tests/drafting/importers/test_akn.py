"""Akoma Ntoso import: Travaux's own exports come back as the same text; other AKN files
are read faithfully or refused with a reason; hostile XML is refused before it can act."""

from __future__ import annotations

from pathlib import Path

import pytest

from drafting.importers.akn import parse_akn, read_akn
from drafting.importers.parsed import Bracket, NoteRef, Placeholder, Run, SourceError
from drafting.importing import build, import_markdown
from drafting.outline import Outline
from drafting.proposals import propose_new_paragraph
from drafting.schema import NegotiationText
from drafting.statistics import statistics
from drafting.views import bracketed_text, clean_text
from exporters.akn import export_akn
from tests.cop21 import COP21_FILES
from tests.exporters.samples import find, negotiate, negotiated_text, records

AKN = 'xmlns="http://docs.oasis-open.org/legaldocml/ns/akn/3.0"'


def reimport(data: bytes) -> NegotiationText:
    source = read_akn(data)
    return build(source.parsed, language=source.language).text


def shape(text: NegotiationText) -> list[tuple[int, str]]:
    return [(placed.depth, placed.clause.kind) for placed in Outline(text).walk()]


@pytest.fixture(scope="module")
def corpus(cop21_dir: Path) -> dict[str, NegotiationText]:
    return {
        name: import_markdown((cop21_dir / name).read_text(encoding="utf-8")).text
        for name in COP21_FILES
    }


# -- round trips ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", COP21_FILES)
def test_a_negotiation_export_reads_back_as_the_same_text(corpus, name):
    text = corpus[name]
    again = reimport(export_akn(text, "negotiation"))
    assert bracketed_text(again) == bracketed_text(text)
    assert statistics(again) == statistics(text)
    assert (again.kind, again.title) == (text.kind, text.title)
    assert records(again) == records(text)


@pytest.fixture(scope="module")
def negotiated_corpus(cop21_dir: Path) -> dict[str, NegotiationText]:
    """The six files with a negotiation played on each (`samples.negotiate`)."""
    return {
        name: negotiate(import_markdown((cop21_dir / name).read_text(encoding="utf-8")).text)
        for name in COP21_FILES
    }


@pytest.mark.parametrize("name", COP21_FILES)
def test_a_negotiated_corpus_text_reads_back_record_for_record(negotiated_corpus, name):
    """Parties, statuses, proposals with supporters and objectors, brackets with their
    Parties and proposals, "bis" numbers, chosen options, deleted clauses: all come back."""
    text = negotiated_corpus[name]
    source = read_akn(export_akn(text, "negotiation"))
    assert source.own
    again = build(source.parsed, language=source.language).text
    assert bracketed_text(again, show_parties=True) == bracketed_text(text, show_parties=True)
    assert statistics(again) == statistics(text)
    assert records(again) == records(text)
    counts = statistics(again)
    assert counts["per_party"] and sum(counts["proposals"].values()) >= 10
    assert {"agreed", "parked"} & {s for s, n in counts["per_status"].items() if n}


def test_the_negotiation_played_uses_every_kind_of_act(negotiated_corpus):
    text = negotiated_corpus["draft-agreement-23-oct-2015.md"]
    kinds = {p.kind for p in text.proposals()}
    statuses = {p.status for p in text.proposals()}
    assert kinds == {"insert", "delete", "replace", "alternative", "new paragraph", "move"}
    assert statuses == {"tabled", "withdrawn", "accepted", "rejected", "merged"}
    printed = bracketed_text(text)
    assert " bis." in printed and " bis) " in printed  # "5 bis." and "(b bis)"
    assert any(c.status == "deleted" for c in text.clauses())
    assert any(c.chosen for c in text.clauses())


@pytest.mark.parametrize("name", COP21_FILES)
@pytest.mark.parametrize("mode", ["negotiation", "clean"])
def test_the_clause_tree_comes_back_the_same(corpus, name, mode):
    text = corpus[name]
    again = reimport(export_akn(text, mode, keep_brackets=True))
    assert shape(again) == shape(text)


def test_the_signature_formula_goes_to_the_conclusions_and_comes_back_in_place(corpus):
    text = corpus["draft-agreement-12-dec-2015.md"]
    data = export_akn(text, "clean")
    assert b"<conclusions>" in data and b'tvx:in="last"' in data
    again = reimport(data)
    last = Outline(again).children()[-1]
    assert last.kind == "article"
    closing = Outline(again).children(last.id)[-2:]
    assert [c.kind for c in closing] == ["text", "text"]
    assert str(closing[0].words).startswith("DONE at Paris")
    assert clean_text(again).text == clean_text(text).text


def test_a_clean_copy_with_its_brackets_reads_back_with_them(corpus):
    text = corpus["draft-agreement-23-oct-2015.md"]
    again = reimport(export_akn(text, "clean", keep_brackets=True))
    assert bracketed_text(again) == bracketed_text(text)


def test_a_negotiated_text_reads_back_with_its_records():
    text = negotiated_text()
    source = read_akn(export_akn(text))
    again = build(source.parsed, language=source.language).text
    assert source.own and source.language == "en"
    assert bracketed_text(again, show_parties=True) == bracketed_text(text, show_parties=True)
    assert statistics(again) == statistics(text)
    assert records(again) == records(text)
    assert statistics(again)["proposals"] == {"tabled": 2, "withdrawn": 1}


def test_inserted_sub_paragraphs_keep_their_bis_numbers():
    text = negotiated_text()
    parent, after = find(text, "Article 3", "1"), find(text, "Article 3", "1", "b")
    for words in ("Share data.", "Share more data."):
        propose_new_paragraph(text, "EU", words, parent=parent, after=after, kind="subparagraph")
    printed = bracketed_text(text)
    assert "[(b bis) Share more data.]" in printed and "[(b ter) Share data.]" in printed
    for mode in ("negotiation", "clean"):
        again = reimport(export_akn(text, mode, keep_brackets=True))
        assert bracketed_text(again) == printed, mode


def test_the_language_of_the_expression_is_read():
    text = negotiated_text()
    text.set_meta("languages", ["en", "fr"])
    assert read_akn(export_akn(text, language="fr")).language == "fr"


# -- other Akoma Ntoso files ---------------------------------------------------------------------
RESOLUTION = f"""<?xml version="1.0" encoding="UTF-8"?>
<akomaNtoso {AKN}>
  <statement name="resolution">
    <meta>
      <identification source="#un">
        <FRBRWork>
          <FRBRthis value="/akn/un/statement/resolution/2015-09-25/70-1/!main"/>
          <FRBRuri value="/akn/un/statement/resolution/2015-09-25/70-1"/>
          <FRBRalias value="Transforming our world" name="title"/>
          <FRBRdate date="2015-09-25" name="adoption"/>
          <FRBRauthor href="#unga"/>
          <FRBRcountry value="un"/>
        </FRBRWork>
        <FRBRExpression>
          <FRBRthis value="/akn/un/statement/resolution/2015-09-25/70-1/fra@/!main"/>
          <FRBRuri value="/akn/un/statement/resolution/2015-09-25/70-1/fra@"/>
          <FRBRdate date="2015-09-25" name="adoption"/>
          <FRBRauthor href="#unga"/>
          <FRBRlanguage language="fra"/>
        </FRBRExpression>
        <FRBRManifestation>
          <FRBRthis value="/akn/un/statement/resolution/2015-09-25/70-1/fra@/!main.xml"/>
          <FRBRuri value="/akn/un/statement/resolution/2015-09-25/70-1/fra@.akn"/>
          <FRBRdate date="2016-01-01" name="markup"/>
          <FRBRauthor href="#unga"/>
        </FRBRManifestation>
      </identification>
    </meta>
    <preamble>
      <p>The General Assembly,</p>
      <recitals>
        <recital eId="rec_1"><num>PP1</num>
          <p><i>Recalling</i>   its resolution 69/315
             of 15 September 2015,<authorialNote marker="1"><p>See A/69/L.85.</p>
             </authorialNote></p>
        </recital>
      </recitals>
    </preamble>
    <mainBody>
      <paragraph eId="para_1"><num>1.</num>
        <intro><p><i>Decides</i> that States [shall][should]:</p></intro>
        <subparagraph eId="para_1__subpara_a"><num>(a)</num>
          <content><p>Act {{X}} now;</p></content>
        </subparagraph>
      </paragraph>
      <paragraph eId="para_2"><num>2.</num>
        <content><p>Requests a report<del> by Monday</del>.</p></content>
      </paragraph>
    </mainBody>
  </statement>
</akomaNtoso>
"""


def test_a_foreign_resolution_is_read_faithfully():
    source = read_akn(RESOLUTION)
    parsed = source.parsed
    assert not source.own and source.language == "fr"
    assert (parsed.kind, parsed.title) == ("resolution", "Transforming our world")
    preamble, first, second = parsed.clauses
    assert preamble.kind == "preamble" and preamble.content == [Run("The General Assembly,")]
    [recital] = preamble.children
    assert (recital.kind, recital.number) == ("recital", "PP1")
    assert recital.content == [
        Run("Recalling", italic=True),
        Run(" its resolution 69/315 of 15 September 2015,"),
        NoteRef("1"),
    ]
    assert parsed.notes == {"1": [Run("See A/69/L.85.")]}
    assert (first.kind, first.number, second.number) == ("operative", "1", "2")
    decides = first.content
    assert decides[0] == Run("Decides", italic=True)
    assert [type(node) for node in decides[-3:]] == [Bracket, Bracket, Run]
    [subparagraph] = first.children
    assert (subparagraph.kind, subparagraph.number) == ("subparagraph", "(a)")
    assert isinstance(subparagraph.content[1], Placeholder)
    assert second.content == [Run("Requests a report.")]
    assert [w.message for w in parsed.warnings] == ["deleted words (<del>) were left out"]


def test_a_foreign_resolution_becomes_a_text_with_alternatives():
    text = build(parse_akn(RESOLUTION)).text
    printed = bracketed_text(text)
    assert "OP1 Decides that States [shall][should]:" in printed
    assert "(a) Act {X} now;" in printed
    assert statistics(text)["alternatives"] == 1


ACT = f"""<akomaNtoso {AKN}>
  <act contains="singleVersion">
    <meta/>
    <body>
      <chapter eId="chp_1"><num>1</num><heading>Definitions</heading>
        <section eId="sec_1"><num>1.</num><heading>Interpretation</heading>
          <subsection eId="sec_1__subsec_1"><num>(1)</num>
            <content><p>In this Act, [unless the context indicates otherwise</p></content>
          </subsection>
          <hcontainer eId="sec_1__hcontainer_1" name="crossheading">
            <heading>Tables</heading>
          </hcontainer>
          <hcontainer eId="sec_1__hcontainer_2" name="hcontainer">
            <content><table eId="t1"><tr><td>a</td><td>b</td></tr></table></content>
          </hcontainer>
        </section>
      </chapter>
    </body>
  </act>
</akomaNtoso>"""


def test_a_foreign_act_keeps_its_units_and_reports_what_it_repaired():
    parsed = parse_akn(ACT)
    assert parsed.kind == "treaty" and parsed.title == ""
    [chapter] = parsed.clauses
    assert (chapter.kind, chapter.number, chapter.heading) == ("section", "1", [Run("Definitions")])
    [section] = chapter.children
    subsection, crossheading, table = section.children
    assert (subsection.kind, subsection.number) == ("subparagraph", "(1)")
    assert isinstance(subsection.content[1], Bracket) and subsection.content[1].closed is False
    assert (crossheading.kind, crossheading.heading) == ("heading", [Run("Tables")])
    assert [(c.kind, c.content) for c in table.children] == [("text", [Run("a | b")])]
    messages = sorted(w.message for w in parsed.warnings)
    assert messages == [
        "'[' opened here is never closed",
        "a table was read as one paragraph per row",
    ]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"", "empty"),
        (b"<p>not closed", "not well-formed XML"),
        (b"<html><body/></html>", "expected <akomaNtoso>"),
        (b'<akomaNtoso xmlns="http://www.akomantoso.org/2.0"/>', "Akoma Ntoso 2.0"),
        (f"<akomaNtoso {AKN}><judgment/></akomaNtoso>".encode(), "not a negotiation text"),
        (f"<akomaNtoso {AKN}/>".encode(), "holds no document"),
        (f"<akomaNtoso {AKN}><act><meta/><body/></act></akomaNtoso>".encode(), "no text"),
    ],
)
def test_what_is_not_an_akn_text_is_refused_with_a_reason(document, message):
    with pytest.raises(SourceError, match=message):
        parse_akn(document)


def test_entity_expansion_is_refused():
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        f"<akomaNtoso {AKN}><act><body><p>&lol3;</p></body></act></akomaNtoso>"
    )
    with pytest.raises(SourceError, match="DOCTYPE"):
        parse_akn(bomb)


def test_external_entities_are_refused_and_never_read(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        f"<akomaNtoso {AKN}><act><body><paragraph><content><p>&xxe;</p></content>"
        "</paragraph></body></act></akomaNtoso>"
    )
    with pytest.raises(SourceError) as refused:
        parse_akn(xxe)
    assert "TOP SECRET" not in str(refused.value)

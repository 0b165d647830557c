"""The drafting room's other tools in a real browser: trial balloons, history and
revisions, exports, the chair's decisions, a delegate typing in its own brackets, undo,
the keyboard and 200% zoom.

As in test_drafting_room.py, each scenario is checked on every screen involved and in what
the server keeps (its database, read with drafting's views; downloads opened as files).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from tests.browser.conftest import (
    Server,
    clause_id_with,
    editor_text,
    open_clause,
    wait_for,
)

AKN_NAMESPACE = "http://docs.oasis-open.org/legaldocml/ns/akn/3.0"


def stored_words(server: Server, clause_id: str) -> str:
    return str(server.stored_text().clause(clause_id).words)


def register_parties(chair: Any) -> None:
    """The demo text's own registry of Parties starts empty; the server checks a balloon's
    Party against it. The chair's page offers to register the negotiation's Parties."""
    chair.wait_for_timeout(200)
    button = chair.locator("#notice [data-action=register-parties]")
    if button.is_visible():
        button.click()
        chair.wait_for_selector("#notice", state="hidden")


def balloon_words_in(page: Any) -> list[str]:
    """Every balloon's words the page holds in memory, from every scope it opened."""
    return page.evaluate("() => window.travaux.balloons.all().map(b => b.words)")


def test_a_balloon_for_one_delegation_reaches_only_it_and_withdrawing_removes_it_live(
    person: Any, server: Server, screenshots: Path
) -> None:
    clause = clause_id_with(server.stored_text(), "perennial mass of ice")
    chair = person("chair@demo")
    register_parties(chair)
    eu = person("eu@demo")
    aosis = person("aosis@demo")
    eu_viewer = person("eu-viewer@demo")

    # EU floats a balloon on selected words, shown to EU only (the default), attributed.
    open_clause(eu, clause)
    eu.keyboard.press("Control+End")
    eu.fill("#balloon-words", "ZEPHYR-EU-ONLY wording of a definition")
    eu.click("[data-action=float-balloon]")
    eu.wait_for_selector(f"#clause-{clause} .balloon:has-text('ZEPHYR-EU-ONLY')")
    # The other member of EU's delegation sees it appear, live, beside the clause …
    item = eu_viewer.locator(f"#clause-{clause} .balloon:has-text('ZEPHYR-EU-ONLY')")
    item.wait_for()
    assert item.get_attribute("data-author") == "EU"
    assert "shown to EU" in item.inner_text()
    assert eu_viewer.locator(f"#clause-{clause} .balloon [data-action]").count() == 0  # a viewer
    # … and the chair (who sees every scope, found by the page as it appears).
    chair.wait_for_selector(f"#clause-{clause} .balloon:has-text('ZEPHYR-EU-ONLY')", timeout=15_000)

    # AOSIS floats one shown to EU only, unattributed.
    open_clause(aosis, clause)
    aosis.fill("#balloon-words", "QUOKKA-FOR-EU unattributed idea")
    aosis.uncheck("#balloon-party-AOSIS")
    aosis.check("#balloon-party-EU")
    aosis.uncheck("#balloon-attributed")
    aosis.click("[data-action=float-balloon]")
    # AOSIS sees its own balloon (its Party is shown to it), with its author.
    own = aosis.locator(f"#clause-{clause} .balloon:has-text('QUOKKA-FOR-EU')")
    own.wait_for()
    wait_for(lambda: own.get_attribute("data-author") == "AOSIS", what="AOSIS sees its authorship")
    # EU sees it live, without its author; the chair sees who floated it.
    theirs = eu.locator(f"#clause-{clause} .balloon:has-text('QUOKKA-FOR-EU')")
    theirs.wait_for()
    assert theirs.get_attribute("data-author") == ""
    assert "AOSIS" not in theirs.inner_text() and "unattributed" in theirs.inner_text()
    assert theirs.locator("[data-action]").count() == 0  # not EU's to withdraw or promote
    by_chair = chair.locator(f"#clause-{clause} .balloon:has-text('QUOKKA-FOR-EU')")
    by_chair.wait_for(timeout=15_000)
    wait_for(lambda: by_chair.get_attribute("data-author") == "AOSIS", what="the chair sees AOSIS")

    # EU's balloon is nowhere in AOSIS's page: not drawn, not in the HTML, not in memory.
    aosis.wait_for_timeout(500)
    assert "ZEPHYR-EU-ONLY" not in aosis.content()
    assert not any("ZEPHYR" in w for w in balloon_words_in(aosis))
    eu.screenshot(path=str(screenshots / "room-balloons-eu.png"))
    aosis.screenshot(path=str(screenshots / "room-balloons-aosis.png"))

    # AOSIS withdraws its balloon: it vanishes from EU's and the chair's pages at once.
    own.locator("[data-action=withdraw-balloon]").click()
    theirs.wait_for(state="detached")
    by_chair.wait_for(state="detached")
    assert "QUOKKA-FOR-EU" not in eu.content() and "QUOKKA-FOR-EU" not in chair.content()

    # EU promotes its balloon: it becomes EU's insertion proposal in the shared text.
    mine = eu.locator(f"#clause-{clause} .balloon:has-text('ZEPHYR-EU-ONLY')")
    mine.locator("[data-action=promote-balloon]").click()
    aosis.wait_for_selector(f"#clause-{clause} .br[data-party=EU]:has-text('ZEPHYR-EU-ONLY')")

    def promoted() -> bool:
        proposals = [p for p in server.stored_text().proposals() if p.clause == clause]
        return any(
            p.party == "EU" and p.kind == "insert" and "ZEPHYR" in p.words for p in proposals
        )

    wait_for(promoted, what="the promoted balloon as EU's proposal")
    assert stored_words(server, clause).endswith("ZEPHYR-EU-ONLY wording of a definition")


def label_revision(chair: Any, label: str) -> None:
    """Open the revisions dialog and type the label of the next revision."""
    chair.click("#open-revisions")
    chair.fill("#revision-label", label)


def cut_revision(chair: Any) -> None:
    """Cut a revision with the label typed in the open revisions dialog; it must be cut."""
    chair.click("[data-action=cut-revision]")
    chair.wait_for_selector("#revisions-message:has-text('cut')", timeout=20_000)
    assert "Not cut" not in chair.inner_text("#revisions-message"), chair.inner_text("#revisions")


def test_history_revisions_and_counters_since_the_last_revision(
    person: Any, server: Server, screenshots: Path
) -> None:
    clause = clause_id_with(server.stored_text(), "This Agreement shall enter into force")
    chair = person("chair@demo")
    # The chair cuts a revision from the revisions dialog.
    label_revision(chair, "Before the Friday session")
    cut_revision(chair)
    chair.wait_for_selector("#revision-list tr:has-text('Before the Friday session')")
    chair.click("[data-action=close-revisions]")
    chair.wait_for_selector("#since-revision:has-text('Before the Friday session')")
    assert chair.get_attribute("[data-counter=brackets] .delta", "data-delta") == "0"

    # The chair keeps "55" of [30][55]: two brackets fewer than at the revision.
    open_clause(chair, clause)
    chair.click("#panel button[data-action=lift-keep]:has-text('“55”')")
    wait_for(lambda: chair.get_attribute("[data-counter=brackets] .delta", "data-delta") == "-2")
    assert "(−2)" in chair.inner_text("[data-counter=brackets]")

    # A delegate sees the same counters, and the clause's history with the chair's lift.
    eu = person("eu@demo")
    assert eu.get_attribute("[data-counter=brackets] .delta", "data-delta") == "-2"
    open_clause(eu, clause)
    eu.click("[data-action=show-history]")
    entries = eu.locator("#clause-history > li")
    entries.first.wait_for()
    entries.first.scroll_into_view_if_needed()
    newest = entries.first
    assert "Chair of the conference" in newest.inner_text() or "chair@demo" in newest.inner_text()
    assert newest.locator("del").count() >= 1  # [30] went: shown struck through
    assert newest.locator("time").count() == 1
    assert entries.last.get_attribute("data-kind") == "added"  # the import, oldest last
    eu.screenshot(path=str(screenshots / "room-clause-history.png"))

    # Comparing the revision with now: the clause changed, shown inline and side by side.
    eu.click("#open-revisions")
    eu.wait_for_selector("#revision-list tr:has-text('Before the Friday session')")
    assert eu.locator("[data-action=cut-revision]").count() == 0  # the chair's alone
    row = "#revision-list tr:has-text('Before the Friday session')"
    eu.select_option("#compare-from", eu.get_attribute(row, "data-revision"))
    eu.select_option("#compare-to", "now")
    eu.click("[data-action=compare]")
    changed = eu.locator(f"#comparison .diff-clause[data-clause={clause}]")
    changed.wait_for()
    assert "30" in " ".join(changed.locator("del").all_inner_texts())  # [30] went
    eu.screenshot(path=str(screenshots / "room-compare-inline.png"))
    eu.check("input[name=diff-view][value=side]")
    changed = eu.locator(f"#comparison .diff-clause[data-clause={clause}]")
    changed.locator(".side-by-side .old del").first.wait_for()
    assert "55" in changed.locator(".side-by-side .new").inner_text()
    eu.screenshot(path=str(screenshots / "room-compare-side-by-side.png"))
    eu.keyboard.press("Escape")  # the dialog closes with the keyboard
    eu.wait_for_selector("#revisions", state="hidden")


def test_exports_download_files_that_open(person: Any, server: Server, screenshots: Path) -> None:
    assert person("observer@demo").locator("#export").count() == 0  # no export right
    legal = person("legal@demo")
    legal.click("#export summary")
    legal.wait_for_selector("[data-export=akn-negotiation]")
    legal.screenshot(path=str(screenshots / "room-export-menu.png"))

    def fetch(selector: str) -> bytes:
        with legal.expect_download() as info:
            legal.click(selector)
        download = info.value
        assert download.failure() is None
        return Path(download.path()).read_bytes()

    akn = ElementTree.fromstring(fetch("[data-export=akn-negotiation]"))
    assert akn.tag == f"{{{AKN_NAMESPACE}}}akomaNtoso"
    words = "".join(akn.itertext())
    assert "mountain glaciers" in words
    for mode in ("negotiation", "redline"):
        with zipfile.ZipFile(io.BytesIO(fetch(f"[data-export=docx-{mode}]"))) as docx:
            document = docx.read("word/document.xml").decode("utf-8")
            assert "Mountain Glaciers" in document or "mountain glaciers" in document
    # A clean text has no open brackets: refused, said so, offered with its brackets kept.
    legal.click("[data-export=akn-clean]")
    legal.wait_for_selector("#export-message.error:has-text('open brackets')")
    clean = ElementTree.fromstring(fetch("[data-export=akn-clean-kept]"))
    assert clean.tag == f"{{{AKN_NAMESPACE}}}akomaNtoso"


def test_whoever_may_edit_restores_a_clause_to_its_wording_at_a_revision(
    person: Any, server: Server, screenshots: Path
) -> None:
    clause = clause_id_with(server.stored_text(), "Maintain an inventory of its glaciers")
    at_revision = stored_words(server, clause)
    chair = person("chair@demo")
    label_revision(chair, "Before the restore")
    cut_revision(chair)
    number = chair.get_attribute(
        "#revision-list tr:has-text('Before the restore')", "data-revision"
    )
    chair.click("[data-action=close-revisions]")
    # The chair rewords the clause, then thinks better of it.
    open_clause(chair, clause)
    # (A bracket's lift button prints the brackets nested in it, as negotiators do.)
    keep = chair.locator("#panel button[data-action=lift-keep]")
    assert "Keep “updated every [five][ten] years”" in keep.all_inner_texts()
    chair.keyboard.press("Control+Home")
    chair.keyboard.type("Promptly ")
    wait_for(lambda: stored_words(server, clause) == "Promptly " + at_revision, what="the edit")
    chair.click("[data-action=show-history]")
    chair.select_option("#restore-from", number)
    chair.click("[data-action=restore-clause]")
    chair.wait_for_selector("#restore-message:has-text('Restored to its wording at')")
    assert "Before the restore" in chair.inner_text("#restore-message")
    wait_for(lambda: stored_words(server, clause) == at_revision, what="the restored words")
    wait_for(lambda: editor_text(chair, clause) == at_revision, what="the chair's copy")
    # A new, attributed change: the history keeps the edit and shows the restore on top.
    newest = chair.locator("#clause-history > li").first
    wait_for(lambda: newest.get_attribute("data-kind") == "restored", what="the restore entry")
    assert "Chair of the conference" in newest.inner_text() or "chair@demo" in newest.inner_text()
    assert "Promptly" in " ".join(chair.locator("#clause-history del").all_inner_texts())
    chair.screenshot(path=str(screenshots / "room-clause-restored.png"))
    # A delegate may not edit the text: no restore offered.
    eu = person("eu@demo")
    open_clause(eu, clause)
    eu.click("[data-action=show-history]")
    eu.wait_for_selector("#clause-history > li")
    assert eu.locator("#restore-from").count() == 0


def tracked_changes(docx: bytes) -> str:
    """word/document.xml of a downloaded Word file (which must be one)."""
    with zipfile.ZipFile(io.BytesIO(docx)) as opened:
        return opened.read("word/document.xml").decode("utf-8")


def test_a_word_redline_between_a_revision_and_now_from_the_dialog_and_the_menu(
    person: Any, server: Server, screenshots: Path
) -> None:
    clause = clause_id_with(server.stored_text(), "take into account the particular vulnerability")
    chair = person("chair@demo")
    label_revision(chair, "Before the redline")
    # A reading of the list arriving redraws the dialog: the label typed stays (it was lost
    # when the reading came after the typing, and the revision was cut as "Rev.N").
    chair.evaluate("() => window.travaux.room.history.loadRevisions()")
    assert chair.input_value("#revision-label") == "Before the redline"
    cut_revision(chair)
    assert chair.input_value("#revision-label") == ""  # that label is taken now
    row = "#revision-list tr:has-text('Before the redline')"
    chair.wait_for_selector(row)
    number = chair.get_attribute(row, "data-revision")
    chair.click("[data-action=close-revisions]")
    # After the revision, the chair adds words to Article 2.2.
    open_clause(chair, clause)
    chair.keyboard.press("Control+End")
    chair.keyboard.press("ArrowLeft")  # before the final "."
    chair.keyboard.type(" without delay")
    wait_for(lambda: "objective without delay." in stored_words(server, clause), what="stored")

    legal = person("legal@demo")

    def fetch(selector: str) -> tuple[str, bytes]:
        with legal.expect_download() as info:
            legal.click(selector)
        download = info.value
        assert download.failure() is None
        return download.suggested_filename, Path(download.path()).read_bytes()

    # The revisions dialog: the redline from the revision to now, as a Word file.
    legal.click("#open-revisions")
    legal.wait_for_selector(row)
    legal.select_option("#compare-from", number)
    legal.select_option("#compare-to", "now")
    name, data = fetch("#revisions [data-action=redline]")
    assert name.endswith("-before-the-redline-to-now-redline.docx")
    document = tracked_changes(data)
    assert "<w:ins " in document or "<w:del " in document
    assert "without delay" in document
    message = legal.locator("#redline-message")
    wait_for(lambda: "Downloaded" in message.inner_text(), what="the dialog says it is done")
    assert message.get_attribute("class") == "ok"
    assert "Before the redline → now" in message.inner_text()
    legal.screenshot(path=str(screenshots / "room-revisions-redline.png"))
    # The server's error is said in the same line (a revision that is not there).
    legal.evaluate(
        """() => { const s = document.getElementById('compare-from')
                   s.append(new Option('gone', '9999')); s.value = '9999' }"""
    )
    legal.click("#revisions [data-action=redline]")
    legal.wait_for_selector("#redline-message.error:has-text('from: no revision')")
    legal.keyboard.press("Escape")
    legal.wait_for_selector("#revisions", state="hidden")

    # The Export menu: "Redline from" offers this text's revisions (to now).
    legal.click("#export summary")
    offered = legal.locator("#redline-from option").all_inner_texts()
    assert "Before the redline of this text" in offered
    assert any("this text itself" in o for o in offered)  # the texts are still offered
    legal.select_option("#redline-from", label="Before the redline of this text")
    legal.screenshot(path=str(screenshots / "room-export-redline-from-revision.png"))
    name, data = fetch("[data-export=docx-redline]")
    assert name.endswith("-before-the-redline-to-now-redline.docx")
    document = tracked_changes(data)
    assert "<w:ins " in document and "without delay" in document
    assert "Downloaded" in legal.inner_text("#export-message")
    # Nobody without the export right gets the button.
    eu = person("eu@demo")
    eu.click("#open-revisions")
    eu.wait_for_selector(row)
    assert eu.locator("[data-action=redline]").count() == 0


def test_the_chair_accepts_rejects_and_chooses_an_option(
    person: Any, server: Server, screenshots: Path
) -> None:
    text = server.stored_text()
    inventory = clause_id_with(text, "Maintain an inventory of its glaciers")
    mass = clause_id_with(text, "Monitor the mass balance")
    eu = person("eu@demo")
    aosis = person("aosis@demo")
    chair = person("chair@demo")
    # EU proposes to insert words at the end of (a); AOSIS to delete words of (b).
    open_clause(eu, inventory)
    eu.keyboard.press("Control+End")
    eu.fill("#proposal-words", " and publish it")
    eu.click("[data-action=propose-insertion]")
    open_clause(aosis, mass)
    aosis.keyboard.press("Control+End")
    aosis.keyboard.press("ArrowLeft")  # before the ";"
    for _ in range(len(" and report it to the secretariat")):
        aosis.keyboard.press("Shift+ArrowLeft")
    assert aosis.inner_text("#selection") == "“ and report it to the secretariat”"
    aosis.click("[data-action=propose-deletion]")
    assert "tabled for AOSIS" in aosis.inner_text("#message")

    # The chair accepts EU's and rejects AOSIS's.
    open_clause(chair, inventory)
    chair.click("#proposals li[data-party=EU] [data-action=accept]")
    eu.wait_for_selector("#proposals li[data-party=EU][data-status=accepted]")
    open_clause(chair, mass)
    chair.locator("#proposals li[data-party=AOSIS] [data-action=reject]").wait_for()
    chair.locator("#proposals").scroll_into_view_if_needed()
    chair.screenshot(path=str(screenshots / "room-chair-decides.png"))
    chair.click("#proposals li[data-party=AOSIS] [data-action=reject]")
    aosis.wait_for_selector("#proposals li[data-party=AOSIS][data-status=rejected]")

    def decided() -> bool:
        stored = server.stored_text()
        status = {p.party: p.status for p in stored.proposals() if p.clause in (inventory, mass)}
        return status == {"EU": "accepted", "AOSIS": "rejected"}

    wait_for(decided, what="the decisions in the server's document")
    assert "and publish it" in stored_words(server, inventory)
    assert "report it to the secretariat" in stored_words(server, mass)  # the words stay
    assert "[" not in eu.inner_text(f"#clause-{inventory} .words").split("years")[-1]

    # Article 4: the chair keeps Option 2; Option 1 leaves the text for everyone.
    option2 = clause_id_with(server.stored_text(), "in a position to do so")
    open_clause(chair, option2)
    chair.click(f"[data-action=choose-option][data-option={option2}]")
    block = server.stored_text().clause(option2).map.get("parent")
    wait_for(lambda: server.stored_text().clause(block).map.get("chosen") == option2)
    option1 = clause_id_with(server.stored_text(), "Developed country Parties shall provide")
    eu.wait_for_selector(f"#clause-{option1}.not-live")


def test_a_delegate_types_only_inside_its_own_bracket_and_undoes_it(
    person: Any, server: Server
) -> None:
    clause = clause_id_with(server.stored_text(), "Deeply concerned")
    eu = person("eu@demo")
    editor = open_clause(eu, clause)
    assert editor.get_attribute("aria-readonly") == "false"
    eu.keyboard.press("Control+End")
    eu.keyboard.press("ArrowLeft")  # before the final ","
    eu.fill("#proposal-words", " faster and faster")
    eu.click("[data-action=propose-insertion]")
    wait_for(lambda: " faster and faster," in editor_text(eu, clause), what="EU's insertion")
    before = editor_text(eu, clause)
    # Outside its brackets a delegate's keystrokes are refused by the page (not sent).
    open_clause(eu, clause)
    eu.keyboard.press("Control+Home")
    eu.keyboard.type("XX")
    assert editor_text(eu, clause) == before
    assert "only inside EU" in eu.inner_text("#message")
    # Inside EU's own bracket they are words like any other.
    start = editor_text(eu, clause).index(" faster and faster") + len(" faster and")
    eu.keyboard.press("Control+Home")
    for _ in range(start):
        eu.keyboard.press("ArrowRight")
    eu.keyboard.type(" ever")
    expected = before.replace(" faster and faster", " faster and ever faster")
    wait_for(lambda: stored_words(server, clause) == expected, what="EU's words inside its bracket")
    assert eu.locator("#connection").get_attribute("data-state") == "synced"  # nothing refused
    from drafting.brackets import spans

    stored = server.stored_text()
    eu_spans = [s for s in spans(stored, clause) if s.party == "EU"]
    words = str(stored.clause(clause).words)
    assert [words[s.start : s.end] for s in eu_spans] == [" faster and ever faster"]
    # Ctrl+Z takes back one's own typing (here: " ever"), and the server follows.
    eu.keyboard.press("Control+z")
    wait_for(lambda: stored_words(server, clause) == before, what="the undo on the server")
    eu.keyboard.press("Control+Shift+Z")
    wait_for(lambda: stored_words(server, clause) == expected, what="the redo on the server")


def test_keyboard_only_and_200_percent_zoom(
    browser: Any, server: Server, screenshots: Path
) -> None:
    """At 200% (a 1400×900 window with the page zoomed: 700×450 CSS pixels, each two
    device pixels) nothing essential overflows sideways, and the keyboard reaches it all."""
    import json

    from tests.browser.conftest import PASSWORD

    context = browser.new_context(viewport={"width": 700, "height": 450}, device_scale_factor=2)
    context.set_default_timeout(10_000)
    context.request.post(
        f"{server.url}/api/session",
        data=json.dumps({"login": "chair@demo", "password": PASSWORD}),
        headers={"Content-Type": "application/json"},
    )
    page = context.new_page()
    # The home page lists the negotiation's texts, each with a link to its drafting room.
    page.goto(f"{server.url}/")
    page.click(f"a.room[href='/texts/{server.text_id}']")
    page.wait_for_selector("#connection[data-state=synced]")
    overflow = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert page.evaluate(overflow) <= 1
    essentials = ("#title", "#counters", "#connection", "#open-revisions", "#export summary", "#me")
    for selector in essentials:
        box = page.locator(selector).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 701, selector
    page.screenshot(path=str(screenshots / "room-zoom-200.png"))

    # Keyboard only: Tab to a clause, Enter opens it, Tab reaches its tools (a drawer at the
    # bottom of the window when narrow), and back; Escape leaves the clause.
    clause = clause_id_with(server.stored_text(), "The secretariat shall publish")
    page.locator(f"#clause-{clause}").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#clause-{clause} .cm-content:focus")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.nav") == "to-tools"
    page.keyboard.press("Enter")
    assert page.evaluate("document.getElementById('panel').contains(document.activeElement)")
    assert page.evaluate(overflow) <= 1
    viewport = {"width": 700, "height": 450}
    for selector in ("#panel", f"#clause-{clause} .cm-content"):
        box = page.locator(selector).bounding_box()
        assert box and box["y"] >= 0 and box["y"] < viewport["height"], selector
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 1, selector
    page.screenshot(path=str(screenshots / "room-zoom-200-clause.png"))
    page.click("[data-nav=back-to-clause]")
    page.wait_for_selector(f"#clause-{clause} .cm-content:focus")
    page.keyboard.press("Escape")
    wait_for(lambda: page.evaluate("document.activeElement.id") == f"clause-{clause}")
    # The revisions dialog opens from the keyboard and fits.
    page.focus("#open-revisions")
    page.keyboard.press("Enter")
    page.wait_for_selector("#revisions[open]")
    width = page.evaluate("document.getElementById('revisions').getBoundingClientRect().right")
    assert width <= 700
    page.screenshot(path=str(screenshots / "room-zoom-200-revisions.png"))
    page.keyboard.press("Escape")
    page.wait_for_selector("#revisions", state="hidden")
    context.close()

"""The drafting room in a real browser: co-editing, proposals, rights, offline, Arabic.

Each scenario is what people do in the room, checked on every screen involved and in the
server's stored document (read from the database with drafting's views, not through the
page).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drafting.brackets import spans
from tests.browser.conftest import (
    PASSWORD,
    Server,
    clause_id_with,
    editor_text,
    enter_room,
    open_clause,
    wait_for,
)

RECITAL = "Noting* the knowledge"  # the importer keeps the participle's italics as a format
NOTING = "the knowledge of indigenous peoples"
OBJECTIVE = "The objective of this Agreement is to"
HAVE_AGREED = "Have agreed as follows:"
ACKNOWLEDGING = "the risk of glacial lake outburst floods"  # only the test of two delegations


def stored_words(server: Server, clause_id: str) -> str:
    return str(server.stored_text().clause(clause_id).words)


def test_sign_in_form_then_the_room_with_outline_brackets_and_counters(
    browser: Any, server: Server, screenshots: Path
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{server.url}/texts/{server.text_id}")
    page.fill("#login", "eu@demo")
    page.fill("#password", PASSWORD)
    page.click("form.signin button[type=submit]")
    page.wait_for_selector("#connection[data-state=synced]")
    assert "delegate" in page.inner_text("#me") and "EU" in page.inner_text("#me")
    # The outline lists the articles with their numbers; clauses carry status badges.
    outline = page.inner_text("#outline")
    assert "Article 1" in outline and "Article 5" in outline
    assert page.locator(".clause .badge[data-status=bracketed]").count() > 0
    # 2 bis is numbered as negotiators number it.
    assert page.locator(".clause-head .num", has_text="2 bis").count() == 1
    # Brackets are drawn around the bracketed words; alternatives side by side.
    objective = clause_id_with(server.stored_text(), OBJECTIVE)
    words = page.inner_text(f"#clause-{objective} .words")
    assert "[slow][halt]" in words.replace("\n", "")
    assert "[and to [protect][support] the communities" in words  # nested
    counters = page.inner_text("#counters")
    assert "open brackets" in counters and "alternatives" in counters and "options" in counters
    page.screenshot(path=str(screenshots / "room-delegate.png"), full_page=False)
    context.close()


def test_two_people_type_into_one_paragraph_at_once_and_converge(
    person: Any, server: Server, screenshots: Path
) -> None:
    clause = clause_id_with(server.stored_text(), HAVE_AGREED)
    chair = person("chair@demo")
    secretariat = person("secretariat@demo")
    open_clause(chair, clause)
    open_clause(secretariat, clause)
    chair.keyboard.press("Control+Home")
    secretariat.keyboard.press("Control+End")
    # Keystrokes interleaved: each side's edits are in flight while the other types.
    for a, b in zip("Thus the ", " herewith", strict=True):
        chair.keyboard.type(a)
        secretariat.keyboard.type(b)
    expected = "Thus the Have agreed as follows: herewith"
    wait_for(lambda: editor_text(chair, clause) == expected, what="the chair's copy")
    wait_for(lambda: editor_text(secretariat, clause) == expected, what="the secretariat's copy")
    shown = "window.travaux.room.active.editor.view.state.doc.toString()"
    assert chair.evaluate(shown) == secretariat.evaluate(shown) == expected
    wait_for(lambda: stored_words(server, clause) == expected, what="the server's stored copy")
    # Presence: each sees the other on that clause.
    chair.wait_for_selector(f"#clause-{clause} .who-chip")
    secretariat.wait_for_selector(f"#clause-{clause} .who-chip")
    chair.screenshot(path=str(screenshots / "room-co-editing.png"))


def put_cursor(page: Any, clause_id: str, at: int) -> None:
    """The editor's cursor at character `at` of the clause's words, with the keyboard."""
    open_clause(page, clause_id)
    page.keyboard.press("Control+Home")
    for _ in range(at):
        page.keyboard.press("ArrowRight")
    cursor = "window.travaux.room.active.editor.view.state.selection.main.head"
    assert page.evaluate(cursor) == at


def table_insertion(page: Any, clause_id: str, after: str, words: str) -> None:
    """Table an insertion of `words` right after `after` in the clause (a delegate)."""
    put_cursor(page, clause_id, editor_text(page, clause_id).index(after) + len(after))
    page.fill("#proposal-words", words)
    page.click("[data-action=propose-insertion]")
    assert "tabled for" in page.inner_text("#message")


WATCH_CONNECTION = """() => {
    const seen = window.connectionStates = []
    const el = document.getElementById('connection')
    new MutationObserver(() => seen.push(el.dataset.state)).observe(el, { attributes: true })
}"""


def test_two_delegations_type_into_one_paragraph_at_once_each_in_its_bracket(
    person: Any, server: Server, screenshots: Path
) -> None:
    """EU and AOSIS each table an insertion in the same paragraph, then type into their own
    bracket at the same time, keystrokes interleaved (each side's edits in flight while the
    other types): every copy ends the same, each Party's words in its own bracket, and the
    server refuses nothing."""
    clause = clause_id_with(server.stored_text(), ACKNOWLEDGING)
    eu = person("eu@demo")
    aosis = person("aosis@demo")
    for page in (eu, aosis):
        page.evaluate(WATCH_CONNECTION)  # every state the connection goes through from now
    table_insertion(eu, clause, "outburst floods", " and ice avalanches")
    table_insertion(aosis, clause, "for communities", " and islands")
    both = ("and ice avalanches", "and islands")
    for page in (eu, aosis):
        wait_for(lambda p=page: all(w in editor_text(p, clause) for w in both), what="both")
    # Each delegation's cursor inside its own bracket, after " and".
    words = editor_text(eu, clause)
    put_cursor(eu, clause, words.index(" and ice avalanches") + len(" and"))
    put_cursor(aosis, clause, words.index(" and islands") + len(" and"))
    # Keystrokes interleaved, a typo taken back on each side (deletions in flight too).
    eu_keys = [*" suddem", "Backspace", "n"]
    aosis_keys = [*" remott", "Backspace", "e"]
    for a, b in zip(eu_keys, aosis_keys, strict=True):
        eu.keyboard.press(a)
        aosis.keyboard.press(b)
    expected = words.replace(" and ice avalanches", " and sudden ice avalanches").replace(
        " and islands", " and remote islands"
    )
    wait_for(lambda: editor_text(eu, clause) == expected, what="EU's copy")
    wait_for(lambda: editor_text(aosis, clause) == expected, what="AOSIS's copy")
    shown = "window.travaux.room.active.editor.view.state.doc.toString()"
    assert eu.evaluate(shown) == aosis.evaluate(shown) == expected
    wait_for(lambda: stored_words(server, clause) == expected, what="the server's stored copy")
    # Each Party's words are still in its own bracket, on the server and on both screens.
    stored = server.stored_text()
    by_party = {
        party: [expected[s.start : s.end] for s in spans(stored, clause) if s.party == party]
        for party in ("EU", "AOSIS")
    }
    assert by_party == {"EU": [" and sudden ice avalanches"], "AOSIS": [" and remote islands"]}
    for page in (eu, aosis):
        page.keyboard.press("Escape")  # the read view draws each bracket with its Party
        for party, mine in (("EU", "and sudden ice avalanches"), ("AOSIS", "and remote islands")):
            bracket = page.locator(f"#clause-{clause} .words .br[data-party={party}]")
            wait_for(lambda b=bracket, w=mine: w in b.inner_text(), what=f"{party}'s bracket")
    # Nothing was refused: both connections stayed up to date all along (a refusal would
    # have shown "refused" and reloaded the page, losing the record of states).
    for page in (eu, aosis):
        assert page.locator("#connection").get_attribute("data-state") == "synced"
        assert set(page.evaluate("window.connectionStates")) <= {"synced"}
    eu.screenshot(path=str(screenshots / "room-two-delegations.png"))


def test_a_delegate_tables_proposals_that_the_other_delegation_sees_as_theirs(
    person: Any, server: Server, screenshots: Path
) -> None:
    clause = clause_id_with(server.stored_text(), NOTING)
    eu = person("eu@demo")
    aosis = person("aosis@demo")
    editor = open_clause(eu, clause)
    assert editor.get_attribute("aria-readonly") == "false"  # a delegate types in its brackets
    # Select "knowledge" (after "Noting the ") with the keyboard and propose a replacement.
    eu.keyboard.press("Control+Home")
    start = editor_text(eu, clause).index("knowledge")
    for _ in range(start):
        eu.keyboard.press("ArrowRight")
    for _ in range(len("knowledge")):
        eu.keyboard.press("Shift+ArrowRight")
    assert eu.inner_text("#selection") == "“knowledge”"
    eu.fill("#proposal-words", "traditional knowledge")
    eu.click("[data-action=propose-replacement]")
    assert "tabled for EU" in eu.inner_text("#message")
    # AOSIS sees the new words bracketed as EU's, and the proposal as EU's.
    aosis.wait_for_selector(f"#clause-{clause} .br[data-party=EU]")
    assert "[knowledge][traditional knowledge]" in aosis.inner_text(f"#clause-{clause} .words")
    open_clause(aosis, clause)
    item = aosis.locator("#proposals li[data-party=EU][data-kind=replace]")
    item.wait_for()
    assert "tabled" in item.inner_text()
    # AOSIS tables an alternative to the bracket EU made, and supports EU's proposal.
    aosis.locator("#alt-target").select_option(index=0)
    aosis.fill("#proposal-words", "ancestral knowledge")
    aosis.click("[data-action=propose-alternative]")
    aosis.click("#proposals li[data-party=EU] [data-action=support]")
    eu.wait_for_selector("#proposals li[data-party=AOSIS][data-kind=alternative]")
    wait_for(lambda: "Supported by AOSIS" in eu.inner_text("#proposals li[data-party=EU]"))
    eu.screenshot(path=str(screenshots / "room-proposals.png"))

    def stored() -> bool:
        text = server.stored_text()
        proposals = {p.party: p for p in text.proposals() if p.clause == clause}
        return (
            set(proposals) == {"EU", "AOSIS"}
            and proposals["EU"].kind == "replace"
            and proposals["EU"].words == "traditional knowledge"
            and proposals["EU"].map["replaced"] == "knowledge"
            and "AOSIS" in proposals["EU"].supporters
            and proposals["AOSIS"].kind == "alternative"
        )

    wait_for(stored, what="both proposals in the server's document")
    text = server.stored_text()
    parties = sorted(s.party for s in spans(text, clause) if s.party)
    assert parties == ["AOSIS", "EU", "EU"]  # EU: around the old words and its new ones
    assert "[knowledge][traditional knowledge][ancestral knowledge]" in _bracketed(text, clause)


def test_the_chair_sets_a_status_and_lifts_a_bracket_for_everyone(
    person: Any, server: Server
) -> None:
    clause = clause_id_with(server.stored_text(), OBJECTIVE)
    chair = person("chair@demo")
    aosis = person("aosis@demo")
    open_clause(chair, clause)
    # Keep "halt" of [slow][halt]: the brackets go, "slow" goes.
    chair.click("#panel button[data-action=lift-keep]:has-text('“halt”')")
    aosis.wait_for_selector(f"#clause-{clause} .words:has-text('is to halt the loss')")
    chair.locator("#status-select").select_option("parked")
    chair.click("[data-action=set-status]")
    aosis.wait_for_selector(f"#clause-{clause} .badge[data-status=parked]")
    wait_for(lambda: server.stored_text().clause(clause).status == "parked", what="stored status")
    assert "is to halt the loss" in stored_words(server, clause)


def test_an_observer_reads_but_cannot_change_anything(person: Any, server: Server) -> None:
    clause = clause_id_with(server.stored_text(), HAVE_AGREED)
    before = stored_words(server, clause)
    observer = person("observer@demo")
    editor = open_clause(observer, clause)
    assert editor.get_attribute("aria-readonly") == "true"
    # No tool that changes anything: reading the clause's history is all the panel offers.
    assert observer.locator("#panel [data-action]:not([data-action=show-history])").count() == 0
    observer.keyboard.press("Control+End")
    observer.keyboard.type("observer words")
    observer.keyboard.press("Backspace")
    assert editor_text(observer, clause) == before
    observer.wait_for_timeout(300)
    assert stored_words(server, clause) == before


def test_edits_made_offline_survive_a_reload_and_merge_on_reconnection(
    person: Any, server: Server, screenshots: Path
) -> None:
    clause = clause_id_with(server.stored_text(), "The secretariat shall publish")
    chair = person("chair@demo")
    secretariat = person("secretariat@demo")
    chair.context.set_offline(True)
    chair.wait_for_selector("#connection[data-state=offline]")
    open_clause(chair, clause)
    chair.keyboard.press("Control+End")
    chair.keyboard.type(" Offline words.")
    chair.screenshot(path=str(screenshots / "room-offline.png"))
    # Meanwhile the secretariat, online, edits the same paragraph.
    open_clause(secretariat, clause)
    secretariat.keyboard.press("Control+Home")
    secretariat.keyboard.type("Online: ")
    wait_for(lambda: stored_words(server, clause).startswith("Online: "), what="online edit")
    assert "Offline words." not in stored_words(server, clause)
    # The chair's browser keeps the offline edit in IndexedDB across a reload …
    chair.close()
    page = chair.context.new_page()
    chair.context.set_offline(False)
    enter_room(page, server)
    # … and sends it on reconnection; both edits stand everywhere.
    wait_for(
        lambda: (
            stored_words(server, clause).startswith("Online: ")
            and stored_words(server, clause).endswith(" Offline words.")
        ),
        what="the offline edit on the server",
    )
    wait_for(lambda: editor_text(secretariat, clause) == stored_words(server, clause))
    assert editor_text(page, clause) == stored_words(server, clause)


def test_arabic_words_display_right_to_left_and_are_stored_as_typed(
    person: Any, server: Server, screenshots: Path
) -> None:
    arabic = "تعترف الأطراف بأن تراجع الأنهار الجليدية"
    clause = clause_id_with(server.stored_text(), "For the purposes of this Agreement")
    chair = person("chair@demo")
    open_clause(chair, clause)
    chair.keyboard.press("Control+a")
    chair.keyboard.type(arabic)
    wait_for(lambda: stored_words(server, clause) == arabic, what="the Arabic words stored")
    chair.keyboard.press("Escape")
    words = chair.locator(f"#clause-{clause} .words")
    assert words.inner_text() == arabic
    assert words.evaluate("el => el.matches(':dir(rtl)')")
    chair.screenshot(path=str(screenshots / "room-arabic.png"))


def _bracketed(text: Any, clause_id: str) -> str:
    from drafting.views import bracketed_text

    return bracketed_text(text)


def test_a_forged_change_is_refused_by_the_server_and_the_page_resyncs(
    person: Any, server: Server
) -> None:
    """What the page does not offer, the server still refuses: a delegate's direct edit."""
    clause = clause_id_with(server.stored_text(), HAVE_AGREED)
    before = stored_words(server, clause)
    eu = person("eu@demo")
    eu.evaluate(
        "id => window.travaux.doc.getMap('clauses').get(id).get('words').insert(0, 'FORGED ')",
        clause,
    )
    eu.wait_for_selector("#connection[data-state=refused]")
    # The page throws its copy away and reads the text again from the server.
    eu.wait_for_selector("#connection[data-state=synced]", timeout=15_000)
    wait_for(lambda: editor_text(eu, clause) == before, what="the page back to the server's text")
    assert stored_words(server, clause) == before

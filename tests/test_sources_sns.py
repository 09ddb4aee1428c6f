"""SNS sources against loopback servers answering documented API shapes."""

# ruff: noqa: F811 - fixtures imported from tests.test_sources_support are used as arguments

from __future__ import annotations

import json
import random

import pytest

from geodata.http import make_session
from ingest.runner import run_source
from ingest.sources.bluesky import BlueskySource
from ingest.sources.common import _html_to_text_fast, _html_to_text_parser, html_to_text
from ingest.sources.mastodon import MastodonSource
from ingest.sources.misskey import MisskeySource
from ingest.sources.posts_file import PostsFileSource
from tests.test_sources_support import (  # noqa: F401 - fixtures
    BSKY_PASSWORD,
    BSKY_USER,
    MISSKEY_TOKEN,
    PAYLOADS,
    context,
    payload,
    ref_store,
    serve_bluesky,
    serve_mastodon,
    serve_misskey,
)


def _session():
    return make_session(retries=0, timeout=(2, 5))


def _posts(store):
    return store.read("posts", order="posted_at").set_index("post_id")


def test_html_to_text_strips_tags_and_unescapes_entities():
    markup = payload("mastodon/statuses.json")[1]["content"]
    assert html_to_text(markup) == (
        '布田二丁目で煙が見えます。"消防車"が向かっています https://news.example/fire?id=1&x=2'
    )


_MARKUP_TOKENS = [
    "<p>", "</p>", "<br>", "<br/>", "<br />", "<p/>", "</p/>", "<BR>", "<P>", "</P >", "<li>",
    "</li>", "<div>", "</div>", "</a>", "</span>", '<span class="invisible">', "<a href='q'>",
    '<a href="x>y">', "<a href=x>", '<img src="a" alt="b"/>', '<b\n class="x">', "<input disabled>",
    "<!-- c -->", "<script>", "</script>", "< p>", "<", ">", "&amp;", "&lt;", "&", "&amp",
    "&#x41;", "&#12354;", "&#x3042", "&nbsp;", "&notit;", "川", "text", " ", "\n",
]  # fmt: skip


def test_html_fast_path_gives_the_parsers_text_or_steps_aside():
    rng = random.Random(7)
    compared = 0
    for _ in range(20_000):
        markup = "".join(rng.choice(_MARKUP_TOKENS) for _ in range(rng.randint(1, 12)))
        fast = _html_to_text_fast(markup)
        if fast is not None:
            compared += 1
            assert fast == _html_to_text_parser(markup), markup
    assert compared > 5_000  # the fast path takes the plain markup, not only the trivial
    # What it leaves to the parser: comments, script, unquoted attributes, a stray "<".
    for markup in ["a<!-- x -->b", "<script>x<y</script>", "<a href=x>l</a>", "1 < 2 <p>"]:
        assert _html_to_text_fast(markup) is None
    assert html_to_text("<p>1 < 2 &amp; <script>s</script>3</p>") == "1 < 2 & s3"


def test_html_fast_path_takes_mastodon_markup():
    for status in payload("mastodon/statuses.json"):
        if status.get("content"):
            assert _html_to_text_fast(status["content"]) is not None, status["content"]


def test_mastodon_reads_tag_timeline_and_links_boosts(httpserver, ref_store):
    base = serve_mastodon(httpserver)
    source = MastodonSource("masto", base_url=base, hashtags=["chofu"], limit=2)
    result = run_source(ref_store, source, _session())
    assert result["ok"], result["error"]
    assert result["inserted"] == 5
    posts = _posts(ref_store)
    first = posts.loc["111726900000000001"]
    assert first["text"] == "国領町三丁目の交差点が冠水して車が通れません & 水位上昇中\n#調布 #大雨"
    assert first["author"] == "kokuryo_taro"
    assert first["url"] == "https://mstdn.example/@kokuryo_taro/111726900000000001"
    boost = posts.loc["111726920000000003"]
    assert boost["repost_of"] == "mastodon:111726900000000001"
    assert boost["text"] is None
    assert posts.loc["111726910000000002"]["text"].startswith("火災\n布田二丁目")
    assert posts.loc["111726930000000004"]["lang"] == "en"
    # The text names 国領町三丁目: the gazetteer placed it inside that town.
    assert first["geo_source"] == "gazetteer"
    assert first["town_code"] == "13208008003"
    assert ref_store.get_cursor("masto") == "111726940000000005"


def test_mastodon_pages_forward_from_the_cursor(httpserver, ref_store):
    statuses = payload("mastodon/statuses.json")
    base = serve_mastodon(httpserver, statuses[:2])
    source = MastodonSource("masto", base_url=base, hashtags=["chofu"], limit=2)
    assert run_source(ref_store, source, _session())["inserted"] == 2
    assert ref_store.get_cursor("masto") == "111726910000000002"
    httpserver.clear()
    serve_mastodon(httpserver, statuses)
    result = run_source(ref_store, source, _session())
    assert result["fetched"] == 3  # only what is newer than the cursor, over two pages
    assert [r.query_string.decode() for r, _ in httpserver.log][0] == (
        "limit=2&min_id=111726910000000002"
    )
    assert ref_store.count("posts") == 5
    assert ref_store.get_cursor("masto") == "111726940000000005"


def test_mastodon_search_sends_query_and_token(httpserver, ref_store):
    statuses = payload("mastodon/statuses.json")
    httpserver.expect_request(
        "/api/v2/search",
        query_string={"q": "調布 冠水", "type": "statuses", "limit": "40"},
        headers={"Authorization": "Bearer tok"},
    ).respond_with_json({"accounts": [], "statuses": statuses[:2][::-1], "hashtags": []})
    source = MastodonSource(
        "masto-search", base_url=httpserver.url_for("/"), query="調布 冠水", token="tok"
    )
    result = run_source(ref_store, source, _session())
    assert result["ok"], result["error"]
    assert sorted(_posts(ref_store).index) == ["111726900000000001", "111726910000000002"]


def test_bluesky_logs_in_and_pages_with_the_cursor(httpserver, ref_store):
    base = serve_bluesky(httpserver, page_size=2)
    source = BlueskySource(
        "bsky", base_url=base, query="調布", identifier=BSKY_USER, password=BSKY_PASSWORD
    )
    result = run_source(ref_store, source, _session())
    assert result["ok"], result["error"]
    assert result["inserted"] == 3
    posts = _posts(ref_store)
    uri = "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3kiklsab4fk2b"
    assert (
        posts.loc[uri]["url"] == "https://bsky.app/profile/kokuryo.bsky.example/post/3kiklsab4fk2b"
    )
    assert posts.loc[uri]["text"] == "国領駅前、停電してます。信号も消えてる"
    assert posts.loc[uri]["lang"] == "ja"
    cursor = ref_store.get_cursor("bsky")
    assert cursor.startswith("2024-01-09T08:48:10+00:00|at://did:plc:4ulkjrxd6xv2xzbgbkqsbswk/")
    searches = [r for r, _ in httpserver.log if r.path.endswith("searchPosts")]
    assert [r.args.get("cursor") for r in searches] == [None, "2"]
    httpserver.clear_log()
    run_source(ref_store, source, _session())
    search = [r for r, _ in httpserver.log if r.path.endswith("searchPosts")][0]
    assert search.args["since"] == "2024-01-09T08:38:10.000Z"  # cursor time minus the overlap
    assert search.args["sort"] == "latest"


def test_bluesky_bad_password_is_a_failed_run(httpserver, ref_store):
    base = serve_bluesky(httpserver)
    source = BlueskySource("bsky", base_url=base, query="調布", identifier=BSKY_USER,
                           password="wrong")  # fmt: skip
    result = run_source(ref_store, source, _session())
    assert not result["ok"]
    assert "HTTP 401" in result["error"]
    assert (
        ref_store.health().set_index("source").loc["bsky", "last_error"].startswith("SourceError")
    )


def test_misskey_renote_links_to_original_and_quote_is_a_post(httpserver, ref_store):
    base = serve_misskey(httpserver)
    source = MisskeySource("mk", base_url=base, query="調布", token=MISSKEY_TOKEN, limit=2)
    result = run_source(ref_store, source, _session())
    assert result["ok"], result["error"]
    posts = _posts(ref_store)
    assert set(posts.index) == {"9o6v1a2b3c", "9o6v2b3c4d", "9o6v3c4d5e"}
    assert posts.loc["9o6v2b3c4d"]["repost_of"] == "misskey:9o6v1a2b3c"
    assert posts.loc["9o6v2b3c4d"]["author"] == "someone@misskey.io.example"
    assert posts.loc["9o6v3c4d5e"]["repost_of"] is None
    assert posts.loc["9o6v3c4d5e"]["text"] == "未確認情報\nこれは本当？ 布田で倒壊した家があるって"
    assert posts.loc["9o6v1a2b3c"]["url"] == f"{base}/notes/9o6v1a2b3c"
    assert ref_store.get_cursor("mk") == "9o6v3c4d5e"
    bodies = [json.loads(r.data) for r, _ in httpserver.log]
    assert bodies[0] == {"query": "調布", "limit": 2, "i": MISSKEY_TOKEN}
    assert bodies[1]["untilId"] == "9o6v2b3c4d"


def test_misskey_renote_without_user_keeps_the_original_author(httpserver, ref_store):
    # Misskey's Note always has ``user``; a server that packs embedded renotes thin sends only
    # ``userId``. Such a partial note must not overwrite the original stored from itself.
    notes = payload("misskey/notes.json")[:1]  # the original, with its user
    base = serve_misskey(httpserver, notes)
    source = MisskeySource("mk", base_url=base, query="調布", token=MISSKEY_TOKEN, limit=10)
    assert run_source(ref_store, source, _session())["ok"]
    assert _posts(ref_store).loc["9o6v1a2b3c", "author"] == "chofu_jumin"
    notes.extend(payload("misskey/renote_without_user.json"))
    result = run_source(ref_store, source, _session())
    assert result["ok"], result["error"]
    posts = _posts(ref_store)
    assert posts.loc["9o6v1a2b3c", "author"] == "chofu_jumin"
    assert posts.loc["9o6v1a2b3c", "text"].startswith("国領町一丁目のアンダーパスが冠水")
    assert posts.loc["9o6v4d5e6f", "repost_of"] == "misskey:9o6v1a2b3c"
    assert posts.loc["9o6v4d5e6f", "author"] == "kokuryo_fan@mk.example.net"
    assert (result["inserted"], result["updated"]) == (1, 0)


def test_misskey_renote_without_user_in_the_same_page_as_its_original(httpserver, ref_store):
    notes = payload("misskey/renote_without_user.json") + payload("misskey/notes.json")[:1]
    base = serve_misskey(httpserver, notes)
    source = MisskeySource("mk", base_url=base, query="調布", token=MISSKEY_TOKEN, limit=10)
    assert run_source(ref_store, source, _session())["ok"]
    posts = _posts(ref_store)
    assert posts.loc["9o6v1a2b3c", "author"] == "chofu_jumin"
    assert set(posts.index) == {"9o6v1a2b3c", "9o6v4d5e6f"}


def test_posts_file_jsonl_and_csv(tmp_path, ref_store):
    jsonl = PostsFileSource("f1", path=str(PAYLOADS / "posts_file/posts.jsonl"))
    result = run_source(ref_store, jsonl)
    assert result["ok"], result["error"]
    posts = _posts(ref_store)
    assert posts.loc["1790000000000000001", "platform"] == "x"
    assert posts.loc["1790000000000000001", "geo_source"] == "geotag"
    assert posts.loc["1790000000000000001"].geometry.x == pytest.approx(139.5530)
    assert posts.loc["1790000000000000003", "platform"] == "file"
    assert str(posts.loc["1790000000000000003", "posted_at"]) == "2024-01-09 09:03:00+00:00"
    csv_path = tmp_path / "export.csv"
    csv_path.write_bytes((PAYLOADS / "posts_file/posts.csv").read_text("utf-8").encode("cp932"))
    result = run_source(ref_store, PostsFileSource("f2", path=str(csv_path), platform="tool"))
    assert result["ok"], result["error"]
    posts = _posts(ref_store)
    assert posts.loc["c-1", "text"] == "国領町一丁目で停電"
    assert str(posts.loc["c-2", "posted_at"]) == "2024-01-09 09:20:00+00:00"  # 令和6年 午後6時20分
    assert posts.loc["c-2", "platform"] == "tool"

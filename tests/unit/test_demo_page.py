"""The live-chat demo page shows the chatbot's name, whatever it contains, as text."""

from __future__ import annotations

import json
import re

from handoff_plugin.channels.livechat import render_demo_page

NAME = 'Ann\'s </script><script>alert(1)</script> & "Co"'


def test_the_chatbot_name_is_shown_as_text_in_the_page() -> None:
    page = render_demo_page(NAME, "/socket.io")
    assert "<h1>Ann&#39;s &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "alert(1)</script>" not in page


def test_the_widget_gets_the_chatbot_name_and_socket_path_unchanged() -> None:
    page = render_demo_page(NAME, "/chat/socket.io")
    data = re.search(r'<script type="application/json" id="demo-config">(.*?)</script>', page)
    assert data is not None
    config = json.loads(data.group(1))
    assert config["title"] == NAME  # the widget shows exactly the configured name
    assert config["socketPath"] == "/chat/socket.io"
    # the data block, the widget's script, the adapter and the page's own (a file): nothing else, no inline code
    assert page.count("</script>") == 4
    assert re.findall(r"<script(?: [^>]*)?>", page) == [
        '<script type="application/json" id="demo-config">',
        '<script src="webchat.js">',
        '<script src="handoff-webchat.js">',
        '<script src="demo.js">',
    ]

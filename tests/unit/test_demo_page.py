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
    title = re.search(r"title: (.*),\n", page)
    path = re.search(r"socketPath: (.*),\n", page)
    assert title is not None and path is not None
    assert json.loads(title.group(1)) == NAME  # the widget shows exactly the configured name
    assert json.loads(path.group(1)) == "/chat/socket.io"
    assert page.count("</script>") == 2  # the widget's script tag and the page's own

"""chatkit: the helper package of a hands-on course in real-time communication.

Each module holds one idea and says which notebook introduces it (docs/architecture.md
draws the layers and the path of one message through them):

- ``language``   the language chatkit speaks: English, or Chinese (the Chinese edition)
- ``running``    run servers inside the notebook's event loop (notebook 01)
- ``websocket``  a browser-style WebSocket client and tiny servers (notebook 01)
- ``polling``    HTTP polling versus WebSocket push, measured (notebook 00)
- ``sio``        serve and stop a raw python-socketio server in a kernel (notebook 02)
- ``tasks``      the background tasks a server leaves behind, found (notebook 02)
- ``faults``     a TCP relay that cuts, silences or holds down a line (notebook 03)
- ``protocol``   the chat's wire contract: event names, payloads, acks (notebook 03)
- ``chat``       the chat's rules, no sockets; they return effects (notebook 03)
- ``effects``    what a rule decided: the ack, and what the server must do (notebook 03)
- ``limits``     sizes, rates, join codes and the sentences that say no (notebook 06)
- ``moderation`` the teacher's rules: kick, mute, announce (notebook 06)
- ``store``      message history, in memory or in SQLite (notebooks 03, 06)
- ``cluster``    several server processes sharing one Redis (notebook 06)
- ``engine``     what ChatServer changes in python-socketio underneath (notebook 03)
- ``server``     ChatServer, the socket.io chat server (notebooks 03-06)
- ``peer``       what chatkit's socket.io clients share (notebook 03)
- ``resume``     the client's half of resuming: nothing lost, nothing twice (notebook 03)
- ``client``     ChatClient and TeacherClient (notebooks 03-06)
- ``roommap``    the map of namespaces, rooms and clients (notebook 04)
- ``panel``      ChatPanel, the live chat window made of widgets (notebook 05)
- ``classroom``  the teacher's side: server process, Redis, a simulated class (notebook 06)
- ``exercises``  the check functions of each notebook's exercise
- ``__main__``   ``python -m chatkit serve``, the teacher's server (notebook 06)
"""

import logging

from chatkit.language import use_language

__all__ = ["use_language"]
__version__ = "0.1.0"

# A library's logging is for whoever configures logging (`python -m chatkit serve` does).
# Without this, Python prints warnings to stderr, and in a notebook stderr from a
# background task lands in whichever cell runs at that moment.
logging.getLogger(__name__).addHandler(logging.NullHandler())

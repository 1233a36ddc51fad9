"""Check functions for the exercises at the end of each notebook.

Every notebook ends with an exercise and names a check function from this package. You
write your answer, then call the check with it:

* when something is wrong, the check raises ``AssertionError`` with a hint that says what
  it tried, what it expected and where to look;
* when all is right, it prints one line that starts with "Right:".

Run the check as often as you like while you work. Checks that talk to a server are
coroutines (``await exercises.check_...``); each starts its own server on a free port and
stops it before returning, so nothing is left running.

The package has one module per notebook, in course order, and a harness they share;
each check's docstring says which notebook sets the exercise. Checks are named
``check_<what you wrote>``:

* ``staleness``, notebook 00: :func:`check_staleness`, :func:`check_values_seen`
* ``shout``, notebook 01: :func:`check_shout_server`, :func:`check_json_chat`
* ``events``, notebook 02: :func:`check_add_and_shout`, :func:`check_socketio_chat`
* ``leaving``, notebook 03: :func:`check_bye_and_left`, :func:`check_nothing_lost`
* ``rooms``, notebook 04: :func:`check_join`, :func:`check_rooms_and_whispers`
* ``panel``, notebook 05: :func:`check_panel`, :func:`check_member_list`
* ``classroom``, notebook 06: :func:`check_announce_to_busiest`, :func:`check_three_strikes`
"""

from chatkit.exercises.classroom import check_announce_to_busiest, check_three_strikes
from chatkit.exercises.events import check_add_and_shout, check_socketio_chat
from chatkit.exercises.leaving import check_bye_and_left, check_nothing_lost
from chatkit.exercises.panel import check_member_list, check_panel
from chatkit.exercises.rooms import check_join, check_rooms_and_whispers
from chatkit.exercises.shout import check_json_chat, check_shout_server
from chatkit.exercises.staleness import check_staleness, check_values_seen

__all__ = [
    "check_add_and_shout",
    "check_bye_and_left",
    "check_member_list",
    "check_nothing_lost",
    "check_panel",
    "check_announce_to_busiest",
    "check_join",
    "check_rooms_and_whispers",
    "check_json_chat",
    "check_shout_server",
    "check_socketio_chat",
    "check_staleness",
    "check_values_seen",
    "check_three_strikes",
]

"""The team desk: who is there (presence), who is next (the queue), and who gets a new
conversation (automatic assignment). The clock-driven sweep that acts on it is the inbox's
(handoff_plugin/inbox/desk_sweep.py): it needs the live-chat service to talk to visitors."""

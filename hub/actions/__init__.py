"""The only writers: check_* validate, do_* change state and record events, access_* permit."""

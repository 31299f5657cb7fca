"""Attachment bytes: the media store, and files arriving from strangers written as they come."""

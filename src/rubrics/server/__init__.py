"""``rubrics serve``: one shared place for a hiring team (issue 12).

Imported only by the commands that need it: the core never imports a web framework or a
database library, and ``rubrics`` without the ``serve`` extra still works.
"""

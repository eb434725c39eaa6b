"""The use cases called in this process on a fresh store (the ``bento``
fixture): the behaviour of Bento's rules, with no server and no channel."""

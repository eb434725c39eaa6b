"""The API's messages made from what the use cases answer: one module per
message family, and every enumeration in one place (``enums``)."""

"""The streamed exports (roster, poll answers, activity reports) that the HTTP API, the console
and the CLI all give: which tables, checked options, the audit entry before the first byte, and
where the bytes go (an HTTP attachment, a file, stdout). The HTTP handlers stay in gateway/api
and gateway/console; the rows themselves are storage's and broadcasts.polls'.
"""

"""The researcher queue: for an agency whose records a person searches by hand (police).

`queue` keeps the permitted queries durably; `answers` turns what the researcher found
into a minimised disclosure; `backend` is the adapter backend kind `research`; `service`
serves the researcher (`Research`) and the broker that asked (`ResearchDelivery`); `cli`
is `mash adapter research list|show|answer|alerts`.
"""

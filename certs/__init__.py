"""The PKI: private CA, certificates, trust store, message signing and verification."""

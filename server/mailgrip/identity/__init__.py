"""Identity: bearer-token validation and Graph tokens through msal."""

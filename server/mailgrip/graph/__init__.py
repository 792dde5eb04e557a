"""A small Microsoft Graph client over one requests.Session."""

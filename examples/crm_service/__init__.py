"""A CRM-style service (synchronous, like a Django app): creates leads, asks the AI to score them."""

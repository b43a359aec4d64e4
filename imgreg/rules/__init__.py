"""The rules the layers enforce: oslo.policy defaults and the enforcer for images and
metadefs, and property protections."""

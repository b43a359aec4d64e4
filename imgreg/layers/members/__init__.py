"""The member chain: the layers around ``SqlMemberRepo`` for the members of one image, one
module a layer as for images (built by ``imgreg.layers.build_member_repo``).

Outer to inner, as for images: authorization → notifier → policy → quota → ``SqlMemberRepo``
(property protection and location have nothing to guard here). Every layer knows the image
whose members it handles; the controller has already loaded it through the image chain, so a
caller who may not see the image got ``NotFound`` before reaching this chain.
"""

"""Property protection: Glance-format rules on extra properties (``imgreg.rules.property_rules``).

Creating, updating or deleting a property the rules forbid is refused as "reserved" (403,
Glance's wording); properties the caller may not read are hidden from ``get``/``list``, and
kept untouched when the image is saved. Base properties are never protected.
"""

from __future__ import annotations

from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.domain.image import Image
from imgreg.domain.ports import ImageFactory, ImageRepo, UploadSession, UploadTerms
from imgreg.domain.query import ListQuery
from imgreg.layers.base import FactoryLayer, RepoLayer
from imgreg.rules.property_rules import PropertyRules


class PropertyProtectionImageFactory(FactoryLayer):
    def __init__(self, inner: ImageFactory, ctx: RequestContext, rules: PropertyRules) -> None:
        super().__init__(inner, ctx)
        self.rules = rules

    def new_image(self, owner: str | None, **kwargs: object) -> Image:
        props = kwargs.get("extra_properties")
        for name in props if isinstance(props, dict) else ():
            if not self.rules.allowed(self.ctx, name, "create"):
                raise errors.ReservedProperty(name)
        return self.inner.new_image(owner, **kwargs)


class PropertyProtectionImageRepo(RepoLayer):
    def __init__(self, inner: ImageRepo, ctx: RequestContext, rules: PropertyRules) -> None:
        super().__init__(inner, ctx)
        self.rules = rules
        self._hidden: dict[str, dict[str, str]] = {}

    def _hide(self, image: Image) -> Image:
        props = image.extra_properties
        hidden = {k: v for k, v in props.items() if not self.rules.allowed(self.ctx, k, "read")}
        if hidden:
            self._hidden[image.id] = hidden
            for name in hidden:
                del props[name]
            image.mark_clean()
        return image

    def get(self, image_id: str) -> Image:
        return self._hide(self.inner.get(image_id))

    def list(self, query: ListQuery) -> list[Image]:
        # Filtering on a property one may not read would disclose its values: to this caller
        # it is a property no image has.
        names = query.properties if query is not None else {}
        if any(not self.rules.allowed(self.ctx, name, "read") for name in names):
            return []
        return [self._hide(image) for image in self.inner.list(query)]

    def save(self, image: Image, from_state: str | None = None) -> Image:
        changes = image.changes()
        hidden = self._hidden.get(image.id, {})
        checks = [
            (changes.added, "create"),
            (changes.updated, "update"),
            (changes.removed, "delete"),
        ]
        for names, op in checks:
            for name in names:
                # Writing a property you cannot read counts as changing it (Glance).
                op_here = "update" if op == "create" and name in hidden else op
                if not self.rules.allowed(self.ctx, name, op_here):
                    raise errors.ReservedProperty(name)
        image.restore_properties(hidden)
        return self._hide(self.inner.save(image, from_state=from_state))

    def add(self, image: Image, max_images: int | None = None) -> Image:
        return self._hide(self.inner.add(image, max_images=max_images))

    def begin_upload(self, image: Image, terms: UploadTerms) -> UploadSession:
        # the upload changes no property: what was hidden from the caller goes back as it was
        image.restore_properties(self._hidden.get(image.id, {}))
        return self.inner.begin_upload(image, terms)

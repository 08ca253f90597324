from assay.brands.models import ApiToken
from assay.brands.selectors import token_identity
from assay.brands.services import api_token_create, api_token_revoke
from conftest import OPERATOR


def test_a_token_is_stored_only_as_a_hash_and_identifies_its_brand(brand):
    issued = api_token_create(slug=brand.slug, role="inspector", actor=OPERATOR)
    stored = ApiToken.objects.get(pk=issued.token.pk)
    assert issued.raw not in (stored.token_hash, stored.prefix)
    identity = token_identity(raw=issued.raw)
    assert identity is not None
    assert (identity.brand_slug, identity.role) == (brand.slug, "inspector")


def test_a_revoked_token_no_longer_authenticates(brand):
    issued = api_token_create(slug=brand.slug, role="ops", actor=OPERATOR)
    api_token_revoke(token_id=issued.token.pk, brand_id=brand.pk, actor=OPERATOR)
    assert token_identity(raw=issued.raw) is None

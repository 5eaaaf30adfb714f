"""Every limit of the contract, one constant each, named for what it limits.

The values come from SERVICE.md's "Limits" table and the ranges stated in
schema.graphql. This module sits in the lowest layer so that every package
(edge, schema, resolvers, storage) reads the same numbers; limits that are
implementation details (retry bounds, cursor sizes, queue lengths) stay
beside the code they bound.
"""

from __future__ import annotations

from typing import Final

# Operations, refused before they run with QUERY_TOO_COMPLEX.
MAX_QUERY_DEPTH: Final = 12  # field nesting, leaves counted, introspection roots not
MAX_QUERY_ALIASES: Final = 30
MAX_QUERY_TOKENS: Final = 5000

# HTTP: a larger request body is refused with 413.
MAX_REQUEST_BODY_BYTES: Final = 1024 * 1024

# Query arguments, BAD_USER_INPUT beyond them.
MAX_PAGE_SIZE: Final = 100  # `first` / `last`, and `Tag.children(first:)`
DEFAULT_PAGE_SIZE: Final = 50
MAX_IDS_PER_LOOKUP: Final = 100  # `nodes(ids:)`, `TagFilter.ids`
MAX_TAG_IDS_PER_RESOURCE_FILTER: Final = 20  # `taggedResources(tagIds:)`
# A longer `TagFilter.search` matches nothing (it could match no name).
MAX_SEARCH_LENGTH: Final = 100

# Mutation input, a VALIDATION user error beyond them.
MAX_TAGS_PER_BATCH: Final = 100  # createTags / deleteTags items
MAX_RESOURCES_PER_BATCH: Final = 500  # add/remove tags of resources
MAX_MERGE_SOURCES: Final = 50

# Stored state, a LIMIT_EXCEEDED / DEPTH_EXCEEDED user error beyond them.
MAX_TAGS_PER_RESOURCE: Final = 100
MAX_TAGS_PER_WORKSPACE: Final = 10_000
MAX_TREE_DEPTH: Final = 4  # a root has depth 0, so a tree has at most 5 levels

# Tag fields, in characters unless the name says bytes (VALIDATION).
MAX_NAME_LENGTH: Final = 100
MAX_SLUG_LENGTH: Final = 100
MAX_DESCRIPTION_LENGTH: Final = 500
MAX_CATEGORY_LENGTH: Final = 50
MAX_METADATA_BYTES: Final = 16384  # serialized as UTF-8 JSON
MAX_METADATA_DEPTH: Final = 5  # the top object is depth 1
MAX_METADATA_KEY_LENGTH: Final = 64

# Identifiers the host platform owns.
MAX_WORKSPACE_ID_LENGTH: Final = 128
MAX_RESOURCE_TYPE_LENGTH: Final = 64
MAX_RESOURCE_ID_LENGTH: Final = 256

# Contract 1.1.
MAX_ALIASES_PER_TAG: Final = 50  # each alias is limited like a name
MAX_SIMILAR_TAGS: Final = 20  # `similarTags(first:)`
MAX_COUNTED_RESOURCES: Final = 10_000  # `Tag.related`, `tagCounts`: the most recently tagged

# Contract 1.2.
MAX_ARCHIVE_IDS: Final = 100  # archiveTags / restoreTags ids (VALIDATION)
MAX_IMPORT_TAGS: Final = 10_000  # tags per importTags file (LIMIT_EXCEEDED)

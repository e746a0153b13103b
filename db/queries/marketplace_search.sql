-- name: MarketplaceSearch :many
-- Listed modules matching the full-text query (websearch syntax, or the
-- words before the last with the last one as a prefix) and the filters,
-- with the total count of matches on each row. The query is an expression
-- of the parameters only, so the planner reads the GIN index on search;
-- each match is ranked once. Matches are counted, ranked and sorted as
-- narrow rows (id and sort keys) and only the page's rows are read whole:
-- a query matching most of the catalogue would otherwise carry every
-- description through the count and the sort (and spill to disk).
WITH page AS (
    SELECT m.id, m.rank, m.total
    FROM (
        SELECT m.id, m.rating_sum, m.rating_count, m.created_at, m.active_installs,
               ts_rank_cd(m.search, tsq.q)::float8 AS rank, count(*) OVER () AS total
        FROM marketplace_modules m,
             LATERAL (SELECT (CASE WHEN sqlc.arg(prefix)::text = '' THEN websearch_to_tsquery('english', sqlc.arg(query)::text)
                    ELSE websearch_to_tsquery('english', sqlc.arg(query)::text)
                         || (websearch_to_tsquery('english', sqlc.arg(head)::text) && to_tsquery('english', sqlc.arg(prefix)::text || ':*'))
               END) AS q) tsq
        WHERE m.search @@ (CASE WHEN sqlc.arg(prefix)::text = '' THEN websearch_to_tsquery('english', sqlc.arg(query)::text)
                    ELSE websearch_to_tsquery('english', sqlc.arg(query)::text)
                         || (websearch_to_tsquery('english', sqlc.arg(head)::text) && to_tsquery('english', sqlc.arg(prefix)::text || ':*'))
               END)
      AND m.listed
      AND (cardinality(sqlc.arg(category)::text[]) = 0 OR m.category[1:cardinality(sqlc.arg(category)::text[])] = sqlc.arg(category)::text[])
      AND (sqlc.arg(label)::text = '' OR m.labels @> ARRAY[sqlc.arg(label)::text])
      AND (cardinality(sqlc.arg(labels_all)::text[]) = 0 OR m.labels @> sqlc.arg(labels_all)::text[])
      AND (cardinality(sqlc.arg(labels_any)::text[]) = 0 OR m.labels && sqlc.arg(labels_any)::text[])
      AND (CASE sqlc.arg(price)::text
             WHEN 'free' THEN m.price_kind = 'free'
             WHEN 'paid' THEN m.price_kind <> 'free'
             WHEN '' THEN true
             ELSE m.price_kind = sqlc.arg(price)::text END)
      AND (sqlc.arg(min_rating)::float8 = 0 OR (m.rating_count > 0 AND m.rating_sum >= sqlc.arg(min_rating)::float8 * m.rating_count))
    ) m
    ORDER BY
      CASE WHEN sqlc.arg(sort)::text = 'relevance' THEN m.rank END DESC,
      CASE WHEN sqlc.arg(sort)::text = 'rating' THEN m.rating_sum::float8 / greatest(m.rating_count, 1) END DESC,
      CASE WHEN sqlc.arg(sort)::text = 'rating' THEN m.rating_count END DESC,
      CASE WHEN sqlc.arg(sort)::text = 'newest' THEN m.created_at END DESC,
      m.active_installs DESC, m.id
    LIMIT sqlc.arg(lim) OFFSET sqlc.arg(off)
)
SELECT m.id, m.slug, m.name, m.summary, m.description, m.author_id, m.author_name, m.homepage, m.category, m.labels,
       m.core, m.price_kind, m.price_cents, m.currency, m.listed, m.unlisted_reason, m.active_installs, m.rating_count,
       m.rating_sum, m.latest_version, m.created_at, m.updated_at, p.rank, p.total
FROM page p JOIN marketplace_modules m ON m.id = p.id
ORDER BY
  CASE WHEN sqlc.arg(sort)::text = 'relevance' THEN p.rank END DESC,
  CASE WHEN sqlc.arg(sort)::text = 'rating' THEN m.rating_sum::float8 / greatest(m.rating_count, 1) END DESC,
  CASE WHEN sqlc.arg(sort)::text = 'rating' THEN m.rating_count END DESC,
  CASE WHEN sqlc.arg(sort)::text = 'newest' THEN m.created_at END DESC,
  m.active_installs DESC, m.id;

-- name: MarketplaceBrowse :many
-- Listed modules matching the filters, without a text query; the same
-- columns as MarketplaceSearch (rank 0), counted and sorted as narrow rows
-- like it.
WITH page AS (
    SELECT m.id, m.total
    FROM (
        SELECT m.id, m.rating_sum, m.rating_count, m.created_at, m.active_installs, count(*) OVER () AS total
        FROM marketplace_modules m
        WHERE true
      AND m.listed
      AND (cardinality(sqlc.arg(category)::text[]) = 0 OR m.category[1:cardinality(sqlc.arg(category)::text[])] = sqlc.arg(category)::text[])
      AND (sqlc.arg(label)::text = '' OR m.labels @> ARRAY[sqlc.arg(label)::text])
      AND (cardinality(sqlc.arg(labels_all)::text[]) = 0 OR m.labels @> sqlc.arg(labels_all)::text[])
      AND (cardinality(sqlc.arg(labels_any)::text[]) = 0 OR m.labels && sqlc.arg(labels_any)::text[])
      AND (CASE sqlc.arg(price)::text
             WHEN 'free' THEN m.price_kind = 'free'
             WHEN 'paid' THEN m.price_kind <> 'free'
             WHEN '' THEN true
             ELSE m.price_kind = sqlc.arg(price)::text END)
      AND (sqlc.arg(min_rating)::float8 = 0 OR (m.rating_count > 0 AND m.rating_sum >= sqlc.arg(min_rating)::float8 * m.rating_count))
    ) m
    ORDER BY
      CASE WHEN sqlc.arg(sort)::text = 'rating' THEN m.rating_sum::float8 / greatest(m.rating_count, 1) END DESC,
      CASE WHEN sqlc.arg(sort)::text = 'rating' THEN m.rating_count END DESC,
      CASE WHEN sqlc.arg(sort)::text = 'newest' THEN m.created_at END DESC,
      m.active_installs DESC, m.id
    LIMIT sqlc.arg(lim) OFFSET sqlc.arg(off)
)
SELECT m.id, m.slug, m.name, m.summary, m.description, m.author_id, m.author_name, m.homepage, m.category, m.labels,
       m.core, m.price_kind, m.price_cents, m.currency, m.listed, m.unlisted_reason, m.active_installs, m.rating_count,
       m.rating_sum, m.latest_version, m.created_at, m.updated_at,
       0::float8 AS rank, p.total
FROM page p JOIN marketplace_modules m ON m.id = p.id
ORDER BY
  CASE WHEN sqlc.arg(sort)::text = 'rating' THEN m.rating_sum::float8 / greatest(m.rating_count, 1) END DESC,
  CASE WHEN sqlc.arg(sort)::text = 'rating' THEN m.rating_count END DESC,
  CASE WHEN sqlc.arg(sort)::text = 'newest' THEN m.created_at END DESC,
  m.active_installs DESC, m.id;

-- name: MarketplaceCategories :many
-- The top-level categories of listed modules, with how many each holds.
SELECT m.category[1]::text AS name, count(*) AS modules
FROM marketplace_modules m
WHERE m.listed AND cardinality(m.category) > 0
GROUP BY 1 ORDER BY 1;

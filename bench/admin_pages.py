"""Server time of every admin page over the generator's catalog: the ≤ 300 ms target of issue 13.

    python -m bench.admin_pages --work var/adminbench [--products 1000000] [--extra-stores 17]
                                [--repeat 5] [--out FILE.json]

With no catalog under --work yet, it makes one the way production does: ``generate_inbox`` (one store per
company, one day) and ``manage.py update --products``. ``--extra-stores K`` then copies the first store's
prices into K new stores with one INSERT ... SELECT each: synthetic rows, there only to put the price
table at the 10M-row scale the issue names (the update's generator at 1M products yields about 1.5M).
Then ``migrate`` (admin and auth tables), and every page is fetched through Django's test client in this
process (no HTTP server: the figure is the server's time, queries and rendering), once to warm up, then
``--repeat`` times. Prints a Markdown table (median and worst ms, queries per page) and writes JSON.
DATABASE_URL, when set, is used instead of the SQLite file under --work. Nothing here runs in the tests.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
TARGET_MS = 300


def _environment(work: Path, database_url: str | None) -> dict:
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url or f"sqlite:///{work.resolve() / 'db.sqlite3'}"
    env["UPDATE_VAR_DIR"] = str(work.resolve())
    env["UPDATE_INDEX_AFTER_MIGRATE"] = "0"  # the admin needs no index; building it at 1M costs minutes
    env["DJANGO_ALLOWED_HOSTS"] = "testserver"
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    return env


def build_catalog(work: Path, products: int, env: dict) -> None:
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=PROJECT, env=env, check=True)
    inbox = work / "inbox"
    subprocess.run([*manage, "generate_inbox", "--out", str(inbox), "--products", str(products),
                    "--stores-per-company", "1", "--days", "1"], cwd=PROJECT, env=env, check=True)
    result = subprocess.run([*manage, "update", "--products", "--silent"], cwd=PROJECT, env=env)
    if result.returncode not in (0, 1):
        sys.exit(f"the update failed (exit {result.returncode}): see its output above")
    (work / "catalog-complete").write_text(str(products))


def ensure_ledger(work: Path, env: dict) -> None:
    """A catalog built before the run ledger existed has no runs to show: one small run makes some.

    Its files (the generator's, 200 products, a later day) are refused as partial scrapes of the big
    stores, which is all the run pages need: a run, its files, their statuses and reasons.
    """
    from ledger.models import UpdateRun

    if UpdateRun.objects.exists():
        return
    inbox = work / "ledger-inbox"
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "generate_inbox", "--out", str(inbox), "--products", "200", "--stores-per-company",
                    "1", "--days", "1", "--start-date", "2025-09-02"], cwd=PROJECT, env=env, check=True)
    subprocess.run([*manage, "update", "--products", "--silent", "--inbox", str(inbox)], cwd=PROJECT, env=env)


def add_price_copies(stores: int) -> None:
    from django.db import connection, transaction

    from catalog.models import Price, Store

    source = Store.objects.order_by("pk").first()
    for n in range(stores):
        with transaction.atomic():
            store, created = Store.objects.get_or_create(company=source.company, store_id=f"bench-copy-{n}",
                                                         defaults={"store_name": f"bench copy {n}",
                                                                   "last_scraped": source.last_scraped})
            if not created:
                continue
            columns = [f.column for f in Price._meta.concrete_fields if f.column not in ("id", "store_id")]
            listed = ", ".join(columns)
            with connection.cursor() as cursor:
                cursor.execute(f"INSERT INTO {Price._meta.db_table} (store_id, {listed}) "
                               f"SELECT %s, {listed} FROM {Price._meta.db_table} WHERE store_id = %s",
                               [store.pk, source.pk])
        print(f"  store {store.store_id}: prices copied", flush=True)


def pages() -> list[tuple[str, str, dict]]:
    """(label, url, GET parameters) for every page worth timing, with real ids and keys from the catalog."""
    from django.urls import reverse

    from catalog.models import SKU, Category, Company, Product, ProductBrand, Store
    from ledger.models import RunFile, UpdateRun

    product = Product.objects.filter(barcode__isnull=False).order_by("-pk").first() or Product.objects.last()
    sku = SKU.objects.filter(product=product).first() or SKU.objects.first()
    brand = ProductBrand.objects.order_by("pk").first()
    store = Store.objects.order_by("pk").first()
    company = Company.objects.order_by("pk").first()
    category = Category.objects.order_by("pk").first()
    run = UpdateRun.objects.order_by("-pk").first()
    run_file = RunFile.objects.exclude(rejects_file="").order_by("-pk").first() or RunFile.objects.first()
    word = product.name.split()[0]

    def url(name, *args):
        return reverse(f"admin:{name}", args=args)

    listed = [
        ("front page (last runs, rejected files, stores that stopped sending)", url("index"), {}),
        ("products", url("catalog_product_changelist"), {}),
        ("products, page 20 (the last counted on SQLite)", url("catalog_product_changelist"), {"p": "20"}),
        ("products, search barcode", url("catalog_product_changelist"), {"q": product.barcode or ""}),
        ("products, search SKU", url("catalog_product_changelist"), {"q": sku.sku}),
        ("products, search NNBS", url("catalog_product_changelist"), {"q": product.normalized_name_brand_size}),
        ("products, search a word (trigram index)", url("catalog_product_changelist"), {"q": word}),
        ("products, search part of a word (trigram index)", url("catalog_product_changelist"),
         {"q": word[1:4] if len(word) >= 4 else word}),
        ("products, search no match (trigram index)", url("catalog_product_changelist"), {"q": "zzqx-nothing"}),
        ("products, search two letters (icontains, whole table)", url("catalog_product_changelist"),
         {"q": "zq"}),
        ("products, filter company", url("catalog_product_changelist"), {"company": str(company.pk)}),
        ("products, filter brand", url("catalog_product_changelist"), {"brand": brand.normalized_name}),
        ("product page", url("catalog_product_change", product.pk), {}),
        ("brand autocomplete", reverse("admin:autocomplete"),
         {"term": brand.normalized_name[:3], "app_label": "catalog", "model_name": "product",
          "field_name": "brand"}),
        ("brands", url("catalog_productbrand_changelist"), {}),
        ("brand page", url("catalog_productbrand_change", brand.pk), {}),
        ("companies", url("catalog_company_changelist"), {}),
        ("stores", url("catalog_store_changelist"), {}),
        ("stores, stopped sending", url("catalog_store_changelist"), {"silent_for": "7"}),
        ("store page (price count)", url("catalog_store_change", store.pk), {}),
        ("prices", url("catalog_price_changelist"), {}),
        ("prices, by store", url("catalog_price_changelist"), {"store": f"#{store.pk}"}),
        ("prices, by store, specials", url("catalog_price_changelist"),
         {"store": f"#{store.pk}", "special": "yes"}),
        ("prices, of one product", url("catalog_price_changelist"), {"product__id__exact": str(product.pk)}),
        ("price page", url("catalog_price_change", product.prices.first().pk), {}),
        ("SKUs", url("catalog_sku_changelist"), {}),
        ("SKUs, search", url("catalog_sku_changelist"), {"q": sku.sku}),
        ("categories", url("catalog_category_changelist"), {}),
        ("category tree", url("catalog_category_tree"), {"company": str(category.company_id)}),
        ("category page", url("catalog_category_change", category.pk), {}),
    ]
    if run is not None:
        listed += [("runs", url("ledger_updaterun_changelist"), {}),
                   ("run page", url("ledger_updaterun_change", run.pk), {}),
                   ("run files", url("ledger_runfile_changelist"), {}),
                   ("run file page (its rejected lines, if any)", url("ledger_runfile_change", run_file.pk),
                    {})]
    return listed


def measure(repeat: int) -> list[dict]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(username="bench-admin",
                                                     defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(user)
    results = []
    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    for label, path, params in pages():
        timings, statuses = [], set()
        executed.clear()
        # A wrapper, not CaptureQueriesContext: every request resets the connection's query log.
        with connection.execute_wrapper(count):
            statuses.add(client.get(path, params, secure=True).status_code)  # warm-up
        queries = list(executed)
        for _ in range(repeat):
            started = time.perf_counter()
            statuses.add(client.get(path, params, secure=True).status_code)
            timings.append((time.perf_counter() - started) * 1000)
        results.append({"page": label, "url": path, "params": params, "status": sorted(statuses),
                        "median_ms": round(statistics.median(timings), 1), "max_ms": round(max(timings), 1),
                        "queries": len(queries)})
        print(f"  {label}: {results[-1]['median_ms']} ms", file=sys.stderr, flush=True)
    return results


def table(results: list[dict]) -> str:
    lines = ["| page | median ms | worst ms | queries | ≤ 300 ms |", "| --- | ---: | ---: | ---: | --- |"]
    for r in results:
        ok = "yes" if r["median_ms"] <= TARGET_MS else "**no**"
        status = "" if r["status"] == [200] else f" (HTTP {r['status']})"
        lines.append(f"| {r['page']}{status} | {r['median_ms']} | {r['max_ms']} | {r['queries']} | {ok} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=PROJECT / "var" / "adminbench")
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--extra-stores", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--out", type=Path, default=None, help="JSON results [WORK/admin-pages.json]")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    env = _environment(args.work, args.database_url)
    if not args.database_url and not (args.work / "db.sqlite3").exists():
        build_catalog(args.work, args.products, env)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=PROJECT, env=env, check=True)
    os.environ.update(env)
    sys.path.insert(0, str(PROJECT))
    import django

    django.setup()
    from catalog.models import Price, Product

    ensure_ledger(args.work, env)
    if args.extra_stores:
        add_price_copies(args.extra_stores)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # the paginator's estimates read the planner's statistics
    sizes = {"products": Product.objects.count(), "prices": Price.objects.count(), "database": connection.vendor,
             "load_average_at_start": os.getloadavg()[0], "cpus": os.cpu_count()}
    print(f"catalog: {sizes['products']:,} products, {sizes['prices']:,} prices ({sizes['database']})",
          file=sys.stderr)
    results = measure(args.repeat)
    out = args.out or args.work / "admin-pages.json"
    sizes["load_average_at_end"] = os.getloadavg()[0]
    out.write_text(json.dumps({"catalog": sizes, "repeat": args.repeat, "pages": results}, indent=1))
    print(f"catalog: {sizes['products']:,} products, {sizes['prices']:,} prices, {sizes['database']}; "
          f"median of {args.repeat} after one warm-up; load average {sizes['load_average_at_start']:.1f} "
          f"at the start, {sizes['load_average_at_end']:.1f} at the end, {sizes['cpus']} CPUs\n")
    print(table(results))


if __name__ == "__main__":
    main()

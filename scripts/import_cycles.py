"""Fail when any module of the given packages is part of an import circle.

lint-imports' acyclic_siblings contract looks at sibling packages inside one root package;
this looks at single modules across every root package named, function-level imports
included, so a circle like services.elastic -> services.streams -> services.messages ->
services.memberships -> services.elastic is named whole. Usage:
    python scripts/import_cycles.py chat hobbies
"""

from __future__ import annotations

import sys
from pathlib import Path

import grimp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project's packages


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    modules = sorted(graph.modules)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in modules:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def main(packages: list[str]) -> int:
    graph = grimp.build_graph(*packages)
    for module in [module for module in graph.modules if ".tests" in module or module.endswith("conftest")]:
        graph.remove_module(module)
    found = cycles(graph)
    for component in found:
        print("import circle:", " <-> ".join(component))
    print(f"{len(graph.modules)} modules, {len(found)} import circle(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["chat", "hobbies"]))

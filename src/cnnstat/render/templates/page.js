"use strict";
// Sorting, filtering and folding of the figure tables, and the bars' link to the rows.
// Every number shown is already in the page; this script only reorders and hides rows.
(function () {
  function valueOf(row, column) {
    const cell = row.cells[column];
    if (cell.dataset.v !== undefined) {
      return cell.dataset.v === "" ? null : Number(cell.dataset.v);
    }
    return cell.textContent.trim().toLowerCase();
  }

  function setUpTable(table) {
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    const treeOrder = rows.slice();
    const byIndex = new Map(rows.map((row) => [row.dataset.index, row]));
    const controls = document.querySelector(`.controls[data-for="${table.id}"]`);
    const search = controls && controls.querySelector("input[type=search]");
    const depthChoice = controls && controls.querySelector("select.depth");
    const leavesOnly = controls && controls.querySelector("input.leaves");
    const status = controls && controls.querySelector(".status");
    const state = { column: null, descending: true };

    function ancestors(row) {
      const found = [];
      let parent = byIndex.get(row.dataset.parent);
      while (parent) {
        found.push(parent);
        parent = byIndex.get(parent.dataset.parent);
      }
      return found;
    }

    function refresh() {
      const text = search ? search.value.trim().toLowerCase() : "";
      const maxDepth = depthChoice && depthChoice.value !== "all" ? Number(depthChoice.value) : Infinity;
      const flat = state.column !== null;
      const matched = new Set(rows.filter((row) => !text || (row.dataset.search || "").includes(text)));
      if (text && !flat) {
        // A match keeps its ancestors in view, so that the tree still reads.
        Array.from(matched).forEach((row) => ancestors(row).forEach((parent) => matched.add(parent)));
      }
      let shown = 0;
      rows.forEach((row) => {
        const depth = Number(row.dataset.depth || 0);
        const folded = !flat && ancestors(row).some((parent) => parent.classList.contains("collapsed"));
        const visible = matched.has(row) && depth <= maxDepth && !folded &&
          !(leavesOnly && leavesOnly.checked && row.dataset.leaf !== "1");
        row.hidden = !visible;
        shown += visible ? 1 : 0;
      });
      if (status) {
        status.textContent = `${shown} of ${rows.length} rows shown` + (flat ? ", flat (sorted)" : "");
      }
    }

    function sortBy(column) {
      const headers = Array.from(table.tHead.rows[0].cells);
      if (state.column === column) {
        state.descending = !state.descending;
      } else {
        state.column = column;
        state.descending = headers[column].classList.contains("num");
      }
      const sign = state.descending ? -1 : 1;
      const keyed = treeOrder.map((row, position) => [valueOf(row, column), position, row]);
      keyed.sort((a, b) => {
        if (a[0] === b[0]) return a[1] - b[1];
        if (a[0] === null) return 1;  // a missing figure goes last either way
        if (b[0] === null) return -1;
        return (a[0] < b[0] ? -1 : 1) * sign;
      });
      keyed.forEach((item) => body.appendChild(item[2]));
      headers.forEach((th, position) => {
        if (position === column) th.setAttribute("aria-sort", state.descending ? "descending" : "ascending");
        else th.removeAttribute("aria-sort");
      });
      table.classList.add("flat");
      refresh();
    }

    function restoreTreeOrder() {
      state.column = null;
      treeOrder.forEach((row) => body.appendChild(row));
      Array.from(table.tHead.rows[0].cells).forEach((th) => th.removeAttribute("aria-sort"));
      table.classList.remove("flat");
      refresh();
    }

    Array.from(table.tHead.rows[0].cells).forEach((th, column) => {
      th.title = "Sort by this column (click again to reverse)";
      th.tabIndex = 0;
      th.addEventListener("click", () => sortBy(column));
      th.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          sortBy(column);
        }
      });
    });
    body.addEventListener("click", (event) => {
      const button = event.target.closest("button.fold");
      if (button) {
        button.closest("tr").classList.toggle("collapsed");
        refresh();
      }
    });
    if (search) search.addEventListener("input", refresh);
    if (depthChoice) depthChoice.addEventListener("change", () => {
      rows.forEach((row) => row.classList.remove("collapsed"));
      refresh();
    });
    if (leavesOnly) leavesOnly.addEventListener("change", refresh);
    const treeButton = controls && controls.querySelector("button.tree-order");
    if (treeButton) treeButton.addEventListener("click", restoreTreeOrder);

    // Bring a row into view: unfold its ancestors, lift a filter that hides it.
    table.reveal = function (index) {
      const row = byIndex.get(index);
      if (!row) return;
      ancestors(row).forEach((parent) => parent.classList.remove("collapsed"));
      if (depthChoice && depthChoice.value !== "all" && Number(row.dataset.depth) > Number(depthChoice.value)) {
        depthChoice.value = "all";
      }
      if (search && row.hidden) search.value = "";
      if (leavesOnly && row.dataset.leaf !== "1") leavesOnly.checked = false;
      refresh();
      row.scrollIntoView({ block: "center" });
      row.classList.add("flash");
      setTimeout(() => row.classList.remove("flash"), 1200);
    };
    table.rowOf = (index) => byIndex.get(index);
    refresh();
  }

  function setUpStrip(svg) {
    const table = document.getElementById(svg.dataset.table);
    const bars = Array.from(svg.querySelectorAll("rect"));
    const readout = svg.closest("figure").querySelector(".readout");
    const column = Number(svg.dataset.column);
    let current = null;

    function highlight(bar) {
      if (current === bar) return;
      if (current) {
        current.classList.remove("hot");
        const row = table.rowOf(current.dataset.row);
        if (row) row.classList.remove("hot");
      }
      current = bar;
      if (!bar) {
        readout.textContent = "";
        return;
      }
      bar.classList.add("hot");
      const row = table.rowOf(bar.dataset.row);
      row.classList.add("hot");
      // The readout quotes the table's own cell: one number, one formatting.
      readout.textContent = `${row.dataset.name} (${row.dataset.type}): ${svg.dataset.header} ` +
        `${row.cells[column].textContent.trim()}   (click: show the row)`;
    }

    function barAt(event) {
      const box = svg.getBoundingClientRect();
      const position = Math.floor((event.clientX - box.left) / box.width * bars.length);
      return bars[Math.min(Math.max(position, 0), bars.length - 1)];
    }

    svg.addEventListener("mousemove", (event) => highlight(barAt(event)));
    svg.addEventListener("mouseleave", () => highlight(null));
    svg.addEventListener("click", (event) => table.reveal(barAt(event).dataset.row));
  }

  document.querySelectorAll("table.figures").forEach(setUpTable);
  document.querySelectorAll("svg.strip").forEach(setUpStrip);
  document.querySelectorAll("table.tree tbody").forEach((body) => {
    body.addEventListener("mouseover", (event) => {
      const row = event.target.closest("tr");
      document.querySelectorAll("svg.strip rect.hot").forEach((bar) => bar.classList.remove("hot"));
      if (row) {
        document.querySelectorAll(`svg.strip rect[data-row="${row.dataset.index}"]`)
          .forEach((bar) => bar.classList.add("hot"));
      }
    });
  });
}());

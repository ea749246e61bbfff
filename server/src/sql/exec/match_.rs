//! MATCH: patterns of node filters joined by graph steps, matched by backtracking.
//!
//! Every node filter gets an alias (`$ORIENT_DEFAULT_ALIAS_n` when none is written); filters
//! sharing an alias are one node, so comma-separated patterns join on shared aliases. The
//! search starts from the cheapest node with `rid:` or `class:` (a RID, then an index
//! lookup, then the smallest class), then follows steps from bound nodes: forwards, or
//! backwards through the inverse step (`out` <-> `in`, `outE` <-> `outV`, ...) when only the
//! far end is bound; a step between two bound nodes checks that they are linked. A step with
//! `while:` or `maxDepth:` walks breadth first from its source, which is itself a candidate
//! at depth 0. A node reached from one source through several edges is one candidate.
//! `optional: true` binds null when nothing matches; a `NOT` pattern rejects a match it can
//! complete. Then `RETURN` goes through the SELECT pipeline (DISTINCT, GROUP BY, ORDER BY,
//! SKIP, LIMIT); `$matches`/`$patterns` return the named aliases, `$paths` all of them,
//! `$elements`/`$pathElements` their records.

use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;

use basalt_engine::{Rid, Value};

use super::eval::{invalid_at, test, Ctx, Env};
use super::functions::{labels, step_value, GraphFn};
use super::plan::{choose_index, class_name, for_each_source, lookup_rids};
use super::rows::{Data, Res, Row};
use super::select::{int_arg, limit_of, Pipeline};
use super::MAX_TRAVERSE_DEPTH;
use crate::query::QueryError;
use crate::sql::ast::{AliasedExpr, Expr, Ident, MatchFilter, MatchStatement, Projection, Target};

/// One alias of the pattern.
struct Node<'q> {
    alias: String,
    named: bool,
    classes: Vec<&'q Ident>,
    wheres: Vec<&'q Expr>,
    rid: Option<&'q Expr>,
    optional: bool,
    /// Appears in a pattern that is not negated.
    positive: bool,
    /// Its conditions mention variables (`$matched`, `$depth`).
    needs_matched: bool,
}

/// One step between two aliases.
struct Edge<'q> {
    from: usize,
    to: usize,
    f: GraphFn,
    labels: Vec<String>,
    while_condition: Option<&'q Expr>,
    max_depth: Option<u32>,
    depth_alias: Option<String>,
    path_alias: Option<String>,
}

impl Edge<'_> {
    fn recursive(&self) -> bool {
        self.while_condition.is_some() || self.max_depth.is_some()
    }
}

/// What the search does at each level.
enum Step {
    Scan(usize),
    Forward(usize),
    Backward(usize),
}

struct Matcher<'q, 'e> {
    env: &'q Env<'e>,
    base: Ctx<'q>,
    nodes: Vec<Node<'q>>,
    edges: Vec<Edge<'q>>,
    negated: Vec<Vec<usize>>,
    plan: Vec<Step>,
    scans: HashMap<usize, Rc<Vec<Rid>>>,
    found: usize,
}

type Bindings = Vec<Option<Value>>;

/// Extra values bound by `depthAlias` / `pathAlias`.
type Extras = Vec<(String, Value)>;

/// A record a step reaches, at a depth (recursive steps), by a path.
type Reached = (Rid, Option<u32>, Vec<Rid>);

/// Estimated bytes of a [`Reached`] besides its path's RIDs.
const REACHED_BYTES: usize = 64;

impl<'q, 'e> Matcher<'q, 'e> {
    fn node(&mut self, f: &'q MatchFilter, positive: bool) -> Res<usize> {
        let (alias, named) = match f.alias() {
            Some(a) => (a.name.clone(), true),
            None => (format!("$ORIENT_DEFAULT_ALIAS_{}", self.nodes.len()), false),
        };
        let i = match self.nodes.iter().position(|n| n.alias == alias) {
            Some(i) => i,
            None => {
                self.nodes.push(Node {
                    alias,
                    named,
                    classes: Vec::new(),
                    wheres: Vec::new(),
                    rid: None,
                    optional: false,
                    positive,
                    needs_matched: false,
                });
                self.nodes.len() - 1
            }
        };
        let n = &mut self.nodes[i];
        n.positive |= positive;
        if let Some(c) = f.class() {
            if class_name(self.env, c)?.is_none() {
                return Err(invalid_at(c.span, format!("class '{}' not found", c.name)));
            }
            n.classes.push(c);
        }
        if let Some(w) = f.where_condition() {
            n.needs_matched |= w.to_string().contains('$');
            n.wheres.push(w);
        }
        if let Some(r) = f.rid() {
            n.rid = Some(r);
        }
        n.optional |= f.optional();
        Ok(i)
    }

    fn build(&mut self, m: &'q MatchStatement) -> Res<()> {
        for p in &m.patterns {
            let mut prev = self.node(&p.origin, !p.negated)?;
            let origin = prev;
            let mut chain = Vec::new();
            for s in &p.steps {
                let to = self.node(&s.filter, !p.negated)?;
                let f = GraphFn::parse(&s.traversal.name.name).ok_or_else(|| {
                    invalid_at(
                        s.traversal.name.span,
                        format!(
                            "'{}' is not a MATCH step; use out, in, both, outE, inE, bothE, outV, inV or bothV",
                            s.traversal.name.name
                        ),
                    )
                })?;
                let max_depth = match int_arg(self.env, s.filter.max_depth(), "maxDepth")? {
                    Some(n) if n < 0 => {
                        return Err(QueryError::Invalid(format!("maxDepth must not be negative ({n})")))
                    }
                    Some(n) => Some(n.min(MAX_TRAVERSE_DEPTH as i64) as u32),
                    None => None,
                };
                let labels = labels(self.env, &self.base, &s.traversal.args)?;
                self.edges.push(Edge {
                    from: prev,
                    to,
                    f,
                    labels,
                    while_condition: s.filter.while_condition(),
                    max_depth,
                    depth_alias: s.filter.depth_alias().map(|a| a.name.clone()),
                    path_alias: s.filter.path_alias().map(|a| a.name.clone()),
                });
                chain.push(self.edges.len() - 1);
                prev = to;
            }
            if p.negated {
                if !self.nodes[origin].positive {
                    return Err(invalid_at(
                        p.origin.span,
                        "a NOT pattern must start from an alias bound by another pattern",
                    ));
                }
                self.negated.push(chain);
            }
        }
        Ok(())
    }

    /// Estimated candidates of a node to start from (`None`: it cannot start a search).
    fn cost(&self, i: usize) -> Res<Option<u64>> {
        let n = &self.nodes[i];
        if n.rid.is_some() {
            return Ok(Some(1));
        }
        let Some(c) = n.classes.first() else { return Ok(None) };
        let Some(class) = class_name(self.env, c)? else { return Ok(Some(0)) };
        for w in &n.wheres {
            if let Some(choice) = choose_index(self.env, &class, Some(w))? {
                if let Some(idx) = self.env.snap.index(&choice.index) {
                    return Ok(Some(lookup_rids(idx, &choice.lookup).len() as u64));
                }
            }
        }
        Ok(Some(self.env.snap.count(&class, true)?))
    }

    fn schedule(&mut self) -> Res<()> {
        let n = self.nodes.len();
        let mut bound = vec![false; n];
        let mut used = vec![false; self.edges.len()];
        let negated: HashSet<usize> = self.negated.iter().flatten().copied().collect();
        loop {
            // Follow steps from what is bound as far as possible.
            loop {
                let next = (0..self.edges.len()).filter(|e| !used[*e] && !negated.contains(e)).find_map(|e| {
                    let ed = &self.edges[e];
                    if bound[ed.from] {
                        Some((e, true))
                    } else if bound[ed.to] && !ed.recursive() {
                        Some((e, false))
                    } else {
                        None
                    }
                });
                let Some((e, forward)) = next else { break };
                used[e] = true;
                let ed = &self.edges[e];
                if forward {
                    bound[ed.to] = true;
                    self.plan.push(Step::Forward(e));
                } else {
                    bound[ed.from] = true;
                    self.plan.push(Step::Backward(e));
                }
            }
            let mut best: Option<(u64, usize)> = None;
            let mut unbound = None;
            for i in (0..n).filter(|i| !bound[*i] && self.nodes[*i].positive) {
                unbound.get_or_insert(i);
                if let Some(c) = self.cost(i)? {
                    if best.is_none_or(|(b, _)| c < b) {
                        best = Some((c, i));
                    }
                }
            }
            match (best, unbound) {
                (Some((_, i)), _) => {
                    bound[i] = true;
                    self.plan.push(Step::Scan(i));
                }
                (None, Some(i)) => {
                    return Err(QueryError::Invalid(format!(
                        "MATCH cannot start from '{}': give one node of each pattern a class: or a rid:",
                        self.nodes[i].alias
                    )))
                }
                (None, None) => return Ok(()),
            }
        }
    }

    fn matched(&self, b: &Bindings) -> Vec<(String, Value)> {
        self.nodes
            .iter()
            .zip(b)
            .filter_map(|(n, v)| v.as_ref().filter(|_| n.named).map(|v| (n.alias.clone(), v.clone())))
            .collect()
    }

    /// Whether a record fits a node's class and conditions.
    fn accepts(&self, node: usize, rid: Rid, depth: Option<u32>, b: &Bindings) -> Res<bool> {
        let n = &self.nodes[node];
        let Some(r) = self.env.load(rid)? else { return Ok(false) };
        let schema = self.env.snap.schema();
        if !n.classes.iter().all(|c| schema.is_subclass_of(&r.class, &c.name)) {
            return Ok(false);
        }
        if n.wheres.is_empty() {
            return Ok(true);
        }
        let row = Row::record(r);
        let matched = if n.needs_matched { self.matched(b) } else { Vec::new() };
        let ctx = Ctx { row: Some(&row), depth: depth.map(i64::from), matched: Some(&matched), ..self.base };
        for w in &n.wheres {
            if !test(self.env, &ctx, w)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Where a step from `source` leads: (record, depth, path) for each distinct record.
    fn reach(&self, e: &Edge<'_>, f: GraphFn, source: &Value) -> Res<Vec<Reached>> {
        let Some(start) = source.as_rid() else { return Ok(Vec::new()) };
        if !e.recursive() {
            let mut out = Vec::new();
            step_value(self.env, source, f, &e.labels, &mut out)?;
            let mut seen = HashSet::new();
            return Ok(out
                .into_iter()
                .filter_map(|v| v.as_rid())
                .filter(|r| seen.insert(*r))
                .map(|r| (r, None, vec![start, r]))
                .collect());
        }
        let mut parents: HashMap<Rid, Rid> = HashMap::new();
        let mut seen = HashSet::from([start]);
        let mut queue = VecDeque::from([(start, 0u32)]);
        let mut out = Vec::new();
        // Charged while the walk builds its list (a check of the peak), given back with it.
        let mut charged = 0usize;
        let charged = &mut charged;
        while let Some((rid, depth)) = queue.pop_front() {
            let mut path = vec![rid];
            let mut at = rid;
            while let Some(p) = parents.get(&at) {
                path.push(*p);
                at = *p;
            }
            path.reverse();
            self.env.tick()?;
            self.env.watch.charge(REACHED_BYTES + 8 * path.len())?;
            *charged += REACHED_BYTES + 8 * path.len();
            out.push((rid, Some(depth), path));
            if e.max_depth.is_some_and(|m| depth >= m) || depth as usize >= MAX_TRAVERSE_DEPTH {
                continue;
            }
            if let Some(w) = e.while_condition {
                let Some(r) = self.env.load(rid)? else { continue };
                let row = Row::record(r);
                let ctx = Ctx { row: Some(&row), depth: Some(i64::from(depth)), ..self.base };
                if !test(self.env, &ctx, w)? {
                    continue;
                }
            }
            let mut next = Vec::new();
            self.env.guard()?;
            super::functions::step(self.env, rid, f, &e.labels, &mut next)?;
            for r in next.into_iter().filter_map(|v| v.as_rid()) {
                if seen.insert(r) {
                    parents.insert(r, rid);
                    queue.push_back((r, depth + 1));
                }
            }
        }
        self.env.watch.release(*charged);
        Ok(out)
    }

    fn scan(&mut self, node: usize) -> Res<Rc<Vec<Rid>>> {
        if let Some(c) = self.scans.get(&node) {
            return Ok(c.clone());
        }
        let n = &self.nodes[node];
        let mut rids = Vec::new();
        if let Some(r) = n.rid {
            let v = super::eval::eval(self.env, &self.base, r)?;
            rids.extend(super::eval::items(v).iter().filter_map(Value::as_rid));
        } else if let Some(c) = n.classes.first() {
            let target = Target::Class((*c).clone());
            let w = n.wheres.first().copied();
            for_each_source(self.env, &self.base, &target, w, &mut |row| {
                if let Some(r) = row.rid() {
                    rids.push(r);
                }
                Ok(true)
            })?;
            // A scan is kept for the whole MATCH (a record id and its slot each).
            self.env.watch.charge(16 * rids.len())?;
        }
        let rids = Rc::new(rids);
        if !n.needs_matched {
            self.scans.insert(node, rids.clone());
        }
        Ok(rids)
    }

    /// Binds a candidate if the node accepts it and goes on: `None` if it was rejected,
    /// else whether the search should continue.
    #[allow(clippy::too_many_arguments)]
    fn bind(
        &mut self,
        level: usize,
        node: usize,
        cand: Reached,
        edge: Option<usize>,
        b: &mut Bindings,
        x: &mut Extras,
        emit: &mut dyn FnMut(Row) -> Res<bool>,
    ) -> Res<Option<bool>> {
        let (rid, depth, path) = cand;
        if !self.accepts(node, rid, depth, b)? {
            return Ok(None);
        }
        let extras_before = x.len();
        if let Some(e) = edge.map(|e| &self.edges[e]) {
            if let (Some(a), Some(d)) = (&e.depth_alias, depth) {
                x.push((a.clone(), Value::Int(d as i32)));
            }
            if let Some(a) = &e.path_alias {
                x.push((a.clone(), Value::List(path.into_iter().map(Value::Link).collect())));
            }
        }
        b[node] = Some(Value::Link(rid));
        let more = self.search(level + 1, b, x, emit);
        b[node] = None;
        x.truncate(extras_before);
        more.map(Some)
    }

    fn search(
        &mut self,
        level: usize,
        b: &mut Bindings,
        x: &mut Extras,
        emit: &mut dyn FnMut(Row) -> Res<bool>,
    ) -> Res<bool> {
        self.env.guard()?;
        if level == self.plan.len() {
            for chain in self.negated.clone() {
                if self.chain_exists(&chain, 0, b)? {
                    return Ok(true);
                }
            }
            self.found += 1;
            let mut row: Vec<(String, Value)> = self
                .nodes
                .iter()
                .zip(b.iter())
                .filter(|(n, _)| n.positive)
                .map(|(n, v)| (n.alias.clone(), v.clone().unwrap_or(Value::Null)))
                .collect();
            row.extend(x.iter().cloned());
            return emit(Row { data: Data::Match(Rc::new(row)), depth: None });
        }
        let (node, edge, cands) = match self.plan[level] {
            Step::Scan(n) => {
                let rids = self.scan(n)?;
                (n, None, rids.iter().map(|r| (*r, None, vec![*r])).collect::<Vec<_>>())
            }
            Step::Forward(e) => {
                let ed = &self.edges[e];
                let source = b[ed.from].clone().unwrap_or(Value::Null);
                (ed.to, Some(e), self.reach(ed, ed.f, &source)?)
            }
            Step::Backward(e) => {
                let ed = &self.edges[e];
                let source = b[ed.to].clone().unwrap_or(Value::Null);
                (ed.from, Some(e), self.reach(ed, ed.f.inverse(), &source)?)
            }
        };
        let bound_before = b[node].is_some();
        let mut any = false;
        for cand in cands {
            self.env.tick()?;
            let rid = cand.0;
            if bound_before {
                if b[node].as_ref().and_then(Value::as_rid) == Some(rid) {
                    return self.search(level + 1, b, x, emit);
                }
                continue;
            }
            if let Some(more) = self.bind(level, node, cand, edge, b, x, emit)? {
                any = true;
                if !more {
                    return Ok(false);
                }
            }
        }
        if !any && !bound_before && self.nodes[node].optional {
            b[node] = Some(Value::Null);
            let more = self.search(level + 1, b, x, emit);
            b[node] = None;
            return more;
        }
        Ok(true)
    }

    /// Whether a NOT chain can be completed from the bindings.
    fn chain_exists(&self, chain: &[usize], at: usize, b: &mut Bindings) -> Res<bool> {
        let Some(&e) = chain.get(at) else { return Ok(true) };
        let ed = &self.edges[e];
        let source = b[ed.from].clone().unwrap_or(Value::Null);
        for (rid, depth, _) in self.reach(ed, ed.f, &source)? {
            match &b[ed.to] {
                Some(v) if v.as_rid() == Some(rid) => {
                    if self.chain_exists(chain, at + 1, b)? {
                        return Ok(true);
                    }
                }
                Some(_) => {}
                None => {
                    if self.accepts(ed.to, rid, depth, b)? {
                        b[ed.to] = Some(Value::Link(rid));
                        let found = self.chain_exists(chain, at + 1, b);
                        b[ed.to] = None;
                        if found? {
                            return Ok(true);
                        }
                    }
                }
            }
        }
        Ok(false)
    }
}

/// Runs a MATCH.
pub(crate) fn run_match(
    env: &Env<'_>,
    parent: Option<&Ctx<'_>>,
    m: &MatchStatement,
    default_limit: Option<usize>,
) -> Res<Vec<Row>> {
    let base = Ctx { parent, ..Ctx::default() };
    let mut mt = Matcher {
        env,
        base,
        nodes: Vec::new(),
        edges: Vec::new(),
        negated: Vec::new(),
        plan: Vec::new(),
        scans: HashMap::new(),
        found: 0,
    };
    mt.build(m)?;
    mt.schedule()?;
    let skip = int_arg(env, m.skip.as_ref(), "SKIP")?.unwrap_or(0).max(0) as usize;
    let limit = limit_of(env, m.limit.as_ref(), default_limit)?;

    let special = match m.returns.as_slice() {
        [AliasedExpr { expr: Expr::Variable(v), alias: None }] => Some(v.name.to_ascii_lowercase()),
        _ => None,
    };
    let named: HashSet<String> = mt.nodes.iter().filter(|n| n.named).map(|n| n.alias.clone()).collect();
    let projections: Vec<Projection> = match special.as_deref() {
        Some("matches" | "patterns" | "paths" | "elements" | "pathelements") => Vec::new(),
        _ => m.returns.iter().cloned().map(Projection::Expr).collect(),
    };
    let keep_all = matches!(special.as_deref(), Some("paths" | "pathelements"));
    let elements = matches!(special.as_deref(), Some("elements" | "pathelements"));
    let pipeline = Pipeline {
        projections: &projections,
        distinct: m.distinct || elements,
        let_items: &[],
        where_clause: None,
        group_by: &m.group_by,
        order_by: &m.order_by,
        unwind: &m.unwind,
        skip,
        limit,
        timeout_key: None,
    };
    let nodes_named = |row: &Row| -> Row {
        match &row.data {
            Data::Match(b) if !keep_all && special.is_some() => {
                let kept: Vec<(String, Value)> = b.iter().filter(|(k, _)| named.contains(k)).cloned().collect();
                Row { data: Data::Match(Rc::new(kept)), depth: None }
            }
            _ => row.clone(),
        }
    };
    pipeline.run(env, parent, |f| {
        let mut emit = |row: Row| -> Res<bool> {
            let row = nodes_named(&row);
            if !elements {
                return f(row);
            }
            let Data::Match(b) = &row.data else { return Ok(true) };
            for (_, v) in b.iter() {
                if let Some(r) = v.as_rid().map(|r| env.load(r)).transpose()?.flatten() {
                    if !f(Row::record(r))? {
                        return Ok(false);
                    }
                }
            }
            Ok(true)
        };
        let mut b: Bindings = vec![None; mt.nodes.len()];
        let mut x = Vec::new();
        mt.search(0, &mut b, &mut x, &mut emit)?;
        Ok(())
    })
}

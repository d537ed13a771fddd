// Runs after the consumer build (maven-invoker-plugin postBuildHookScript). The build itself fails
// on a failing test; this makes sure the tests ran at all, so a build that silently ran nothing
// (a renamed class, a surefire that found no tests) cannot pass.
def reports = new File(basedir, 'target/surefire-reports')
def expected = ['PagesTest', 'DependencyHygieneTest', 'ModulePathTest', 'SmallHeapTest']
int total = 0
expected.each { name ->
  def report = new File(reports, "com.example.consumer.${name}.txt")
  assert report.isFile() : "no surefire report for ${name}"
  def m = report.text =~ /Tests run: (\d+), Failures: 0, Errors: 0, Skipped: 0/
  assert m.find() : "${name} did not pass cleanly:\n${report.text}"
  int run = m.group(1) as int
  assert run > 0 : "${name} ran no test"
  total += run
}
def log = new File(basedir, 'build.log').text
assert log.contains('dev.fetchflux:fetchflux:jar:') : 'the dependency tree was not printed'
println "consumer IT: ${total} tests passed"
return true
